using System.Runtime.InteropServices;
using System.Text;

namespace SpikeEngine.Cuda;

/// <summary>
/// One GPU: the driver's primary context (shared with cuBLAS/cuDNN, which use the runtime API), one
/// stream every operation is queued on, and the PTX modules loaded into it. Methods make the context
/// current on the calling thread first.
/// </summary>
public sealed unsafe class CudaContext : IDisposable
{
    [ThreadStatic] private static IntPtr _currentOnThread;

    private readonly IntPtr _context;
    private readonly Dictionary<string, IntPtr> _modules = new();
    private readonly Dictionary<string, IntPtr> _functions = new();
    private readonly Dictionary<string, string> _moduleImages = new();
    private readonly object _gate = new();
    private bool _disposed;

    public int Ordinal { get; }
    public string Name { get; }
    public int ComputeMajor { get; }
    public int ComputeMinor { get; }
    public int Multiprocessors { get; }
    public long TotalMemoryBytes { get; }
    public int DriverVersion { get; }
    /// <summary>True on the emulated device (SPIKEENGINE_CUDA=emulator): kernels run on the CPU, see kernels/README.md.</summary>
    public bool IsEmulated { get; private init; }
    internal IntPtr Stream { get; }

    private CudaContext(int ordinal, IntPtr context, IntPtr stream, string name, int major, int minor, int sms, long total, int driver)
    {
        Ordinal = ordinal; _context = context; Stream = stream; Name = name;
        ComputeMajor = major; ComputeMinor = minor; Multiprocessors = sms; TotalMemoryBytes = total; DriverVersion = driver;
    }

    /// <summary>
    /// Initialises the driver and opens device <paramref name="ordinal"/>. Throws
    /// <see cref="CudaUnavailableException"/> with a one-line reason when the driver or the device is missing.
    /// </summary>
    public static CudaContext Open(int ordinal)
    {
        CudaLibraries.InstallResolver();
        if (!CudaLibraries.TryLoad(CudaLibraries.Driver, out _, out var why))
            throw new CudaUnavailableException($"no CUDA driver ({why})");
        int status;
        try { status = CuDriver.cuInit(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new CudaUnavailableException($"no CUDA driver ({e.Message})", e);
        }
        if (status == CuDriver.ErrorNoDevice) throw new CudaUnavailableException("no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
        if (status != CuDriver.Success)
        {
            var (name, description) = CuDriver.Describe(status);
            throw new CudaUnavailableException($"CUDA driver cannot start (cuInit: {name}{(description is null ? "" : ", " + description)})");
        }
        CuDriver.Check(CuDriver.cuDeviceGetCount(out var count), "cuDeviceGetCount");
        if (count == 0) throw new CudaUnavailableException("no CUDA device");
        if (ordinal < 0 || ordinal >= count)
            throw new CudaUnavailableException($"no CUDA device cuda:{ordinal} (this machine has {count}: cuda:0..cuda:{count - 1})");
        CuDriver.Check(CuDriver.cuDeviceGet(out var device, ordinal), "cuDeviceGet");
        var nameBytes = stackalloc byte[256];
        CuDriver.Check(CuDriver.cuDeviceGetName(nameBytes, 256, device), "cuDeviceGetName");
        var name2 = Marshal.PtrToStringUTF8((IntPtr)nameBytes) ?? "?";
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(out var major, CuDriver.AttrComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(out var minor, CuDriver.AttrComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(out var sms, CuDriver.AttrMultiprocessorCount, device), "cuDeviceGetAttribute");
        CuDriver.Check(CuDriver.cuDeviceTotalMem(out var total, device), "cuDeviceTotalMem_v2");
        CuDriver.Check(CuDriver.cuDriverGetVersion(out var driverVersion), "cuDriverGetVersion");
        CuDriver.Check(CuDriver.cuDevicePrimaryCtxRetain(out var ctx, device), "cuDevicePrimaryCtxRetain");
        CuDriver.Check(CuDriver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
        _currentOnThread = ctx;
        CuDriver.Check(CuDriver.cuStreamCreate(out var stream, 0), "cuStreamCreate");
        return new CudaContext(ordinal, ctx, stream, name2, major, minor, sms, (long)total, driverVersion)
        {
            IsEmulated = CudaLibraries.EmulatorSelected
        };
    }

    /// <summary>Makes this context current on the calling thread (cheap when it already is).</summary>
    public void MakeCurrent()
    {
        if (_currentOnThread == _context) return;
        CuDriver.Check(CuDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        _currentOnThread = _context;
    }

    public string Description =>
        $"cuda:{Ordinal} ({Name}, sm_{ComputeMajor}{ComputeMinor}, {Multiprocessors} SMs, {TotalMemoryBytes / (1 << 20)} MiB, driver {DriverVersion / 1000}.{DriverVersion % 1000 / 10})";

    // ---- modules and launches ----

    /// <summary>
    /// Loads PTX text as module <paramref name="moduleName"/> (JIT-compiled by the driver); the JIT log is part of any error.
    /// When the driver cannot JIT it (<see cref="CuDriver.IsPtxJitFailure"/>: no JIT, PTX ISA newer than the driver, ...)
    /// and <paramref name="cubin"/> (built for this device's compute capability) is given, the cubin is loaded instead.
    /// <see cref="ModuleImages"/> records which image each module came from.
    /// </summary>
    public void LoadModule(string moduleName, byte[] ptx, byte[]? cubin = null)
    {
        MakeCurrent();
        var image = new byte[ptx.Length + 1]; // cuModuleLoadData reads PTX as a NUL-terminated string
        ptx.CopyTo(image, 0);
        var (status, module, jitLog) = LoadImage(image);
        var source = "ptx";
        if (status != CuDriver.Success && cubin is not null && CuDriver.IsPtxJitFailure(status))
        {
            var (ptxName, _) = CuDriver.Describe(status);
            var (cubinStatus, cubinModule, cubinLog) = LoadImage(cubin);
            if (cubinStatus == CuDriver.Success)
            {
                status = cubinStatus; module = cubinModule;
                source = $"cubin sm_{ComputeMajor}{ComputeMinor} (PTX JIT failed: {ptxName})";
                Console.Error.WriteLine($"CUDA: kernels/{moduleName}: {source}");
            }
            else jitLog += $"; cubin sm_{ComputeMajor}{ComputeMinor} also failed: {CuDriver.Describe(cubinStatus).Name} {cubinLog}";
        }
        if (status != CuDriver.Success)
        {
            var (name, description) = CuDriver.Describe(status);
            throw new CudaException($"cuModuleLoadDataEx (kernels/{moduleName}.ptx)", status, name,
                description + (jitLog.Length > 0 ? "; JIT log: " + jitLog : ""));
        }
        lock (_gate) { _modules[moduleName] = module; _moduleImages[moduleName] = source; }
    }

    /// <summary>Which image each loaded module came from: "ptx", or "cubin sm_XY (PTX JIT failed: ...)".</summary>
    public IReadOnlyDictionary<string, string> ModuleImages { get { lock (_gate) return new Dictionary<string, string>(_moduleImages); } }

    private (int Status, IntPtr Module, string Log) LoadImage(byte[] image)
    {
        const int logSize = 8192;
        var log = new byte[logSize];
        IntPtr module;
        int status;
        fixed (byte* img = image)
        fixed (byte* logPtr = log)
        {
            var options = stackalloc int[2] { CuDriver.JitErrorLogBuffer, CuDriver.JitErrorLogBufferSizeBytes };
            var values = stackalloc void*[2] { logPtr, (void*)(nuint)logSize };
            status = CuDriver.cuModuleLoadDataEx(out module, img, 2, options, values);
        }
        return (status, module, Encoding.UTF8.GetString(log).TrimEnd('\0').Trim());
    }

    public bool HasModule(string moduleName) { lock (_gate) return _modules.ContainsKey(moduleName); }

    internal IntPtr Function(KernelSpec spec)
    {
        lock (_gate)
        {
            var key = spec.Module + "/" + spec.Name;
            if (_functions.TryGetValue(key, out var f)) return f;
            if (!_modules.TryGetValue(spec.Module, out var module))
                throw new InvalidOperationException($"Kernel {spec.Name}: module kernels/{spec.Module}.ptx is not loaded (run ./build.cuda.sh and rebuild).");
            var nameBytes = Encoding.ASCII.GetBytes(spec.Name + "\0");
            fixed (byte* n = nameBytes)
                CuDriver.Check(CuDriver.cuModuleGetFunction(out f, module, n), $"cuModuleGetFunction({spec.Name})");
            _functions[key] = f;
            return f;
        }
    }

    /// <summary>Queues <paramref name="spec"/> on the stream with a 1-D grid, after checking the arguments against its signature.</summary>
    public void Launch(KernelSpec spec, long gridBlocks, int blockThreads, ReadOnlySpan<KernelArg> args, int sharedBytes = 0)
    {
        spec.CheckArguments(args);
        if (gridBlocks <= 0) return; // nothing to do (empty tensor)
        if (gridBlocks > int.MaxValue) throw new ArgumentException($"Kernel {spec.Name}: grid of {gridBlocks} blocks is too large.");
        MakeCurrent();
        var function = Function(spec);
        var values = stackalloc ulong[args.Length];
        var pointers = stackalloc void*[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            values[i] = args[i].Bits; // little-endian: a 4-byte parameter reads the low half
            pointers[i] = &values[i];
        }
        CuDriver.Check(CuDriver.cuLaunchKernel(function, (uint)gridBlocks, 1, 1, (uint)blockThreads, 1, 1,
            (uint)sharedBytes, Stream, pointers, null), $"cuLaunchKernel({spec.Name})");
    }

    // ---- memory ----

    public DevicePointer Allocate(long bytes)
    {
        MakeCurrent();
        var status = CuDriver.cuMemAlloc(out var p, (nuint)Math.Max(bytes, 1));
        if (status != CuDriver.Success) throw CuDriver.Error(status, $"cuMemAlloc_v2({bytes} bytes)");
        return new DevicePointer(p);
    }

    /// <summary>Like <see cref="Allocate"/> but returns false on CUDA_ERROR_OUT_OF_MEMORY (so a pool can free its cache and retry).</summary>
    public bool TryAllocate(long bytes, out DevicePointer pointer)
    {
        MakeCurrent();
        var status = CuDriver.cuMemAlloc(out var p, (nuint)Math.Max(bytes, 1));
        pointer = new DevicePointer(p);
        if (status == CuDriver.ErrorOutOfMemory) return false;
        if (status != CuDriver.Success) throw CuDriver.Error(status, $"cuMemAlloc_v2({bytes} bytes)");
        return true;
    }

    public void Free(DevicePointer pointer)
    {
        if (pointer.Address == 0 || _disposed) return;
        MakeCurrent();
        CuDriver.Check(CuDriver.cuMemFree(pointer.Address), "cuMemFree_v2");
    }

    public void CopyHostToDevice<T>(ReadOnlySpan<T> source, DevicePointer destination) where T : unmanaged
    {
        if (source.IsEmpty) return;
        MakeCurrent();
        // From pageable memory the call returns once the data is staged, so the span may be released afterwards.
        fixed (T* s = source)
            CuDriver.Check(CuDriver.cuMemcpyHtoDAsync(destination.Address, s, (nuint)(source.Length * sizeof(T)), Stream), "cuMemcpyHtoDAsync_v2");
    }

    /// <summary>Copies to the host and waits for the copy (and all work queued before it).</summary>
    public void CopyDeviceToHost<T>(DevicePointer source, Span<T> destination) where T : unmanaged
    {
        if (destination.IsEmpty) return;
        MakeCurrent();
        fixed (T* d = destination)
        {
            CuDriver.Check(CuDriver.cuMemcpyDtoHAsync(d, source.Address, (nuint)(destination.Length * sizeof(T)), Stream), "cuMemcpyDtoHAsync_v2");
            Synchronize();
        }
    }

    public void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes)
    {
        if (bytes == 0) return;
        MakeCurrent();
        CuDriver.Check(CuDriver.cuMemcpyDtoDAsync(destination.Address, source.Address, (nuint)bytes, Stream), "cuMemcpyDtoDAsync_v2");
    }

    public void Memset32(DevicePointer destination, uint value, long count)
    {
        if (count == 0) return;
        MakeCurrent();
        CuDriver.Check(CuDriver.cuMemsetD32Async(destination.Address, value, (nuint)count, Stream), "cuMemsetD32Async");
    }

    public void Synchronize()
    {
        MakeCurrent();
        CuDriver.Check(CuDriver.cuStreamSynchronize(Stream), "cuStreamSynchronize");
    }

    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        CuDriver.Check(CuDriver.cuMemGetInfo(out var free, out var total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    // ---- timing ----

    /// <summary>Milliseconds of GPU time taken by the work <paramref name="queue"/> puts on the stream (cuEvent timing).</summary>
    public float TimeMilliseconds(Action queue)
    {
        MakeCurrent();
        CuDriver.Check(CuDriver.cuEventCreate(out var start, 0), "cuEventCreate");
        CuDriver.Check(CuDriver.cuEventCreate(out var end, 0), "cuEventCreate");
        try
        {
            CuDriver.Check(CuDriver.cuEventRecord(start, Stream), "cuEventRecord");
            queue();
            CuDriver.Check(CuDriver.cuEventRecord(end, Stream), "cuEventRecord");
            CuDriver.Check(CuDriver.cuEventSynchronize(end), "cuEventSynchronize");
            CuDriver.Check(CuDriver.cuEventElapsedTime(out var ms, start, end), "cuEventElapsedTime");
            return ms;
        }
        finally
        {
            CuDriver.cuEventDestroy(start);
            CuDriver.cuEventDestroy(end);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        MakeCurrent();
        CuDriver.cuStreamSynchronize(Stream);
        lock (_gate)
        {
            foreach (var m in _modules.Values) CuDriver.cuModuleUnload(m);
            _modules.Clear();
            _functions.Clear();
        }
        CuDriver.cuStreamDestroy(Stream);
        _disposed = true;
        // The primary context stays retained: other users (cuBLAS, a later backend) share it.
    }
}
