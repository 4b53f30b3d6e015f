using SpikeEngine.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

/// <summary>
/// The CUDA backend: device-resident tensors (<see cref="CudaStorage"/> from a caching pool), one
/// stream, hand-written kernels from kernels/*.cu (PTX embedded in the engine, JIT-loaded at start)
/// and cuBLAS for the GEMMs. Semantics follow the IBackend doc comments; the CPU backend is the
/// reference the GPU tests compare against. Split by op family over CudaBackend.&lt;Family&gt;.cs, the
/// same families as CpuBackend.&lt;Family&gt;.cs and kernels/&lt;family&gt;.cu (map: kernels/README.md).
/// </summary>
public sealed partial class CudaBackend : IBackend, IDisposable
{
    internal const int BlockThreads = 256;
    /// <summary>Blocks for the partial sums of a reduction (a fixed count keeps the result deterministic).</summary>
    private const int ReductionBlocks = 1024;

    private readonly CudaContext _context;
    private readonly CudaMemoryPool _pool;
    private readonly IntPtr _cublas;

    private CudaBackend(Device device, CudaContext context, IntPtr cublas)
    {
        Device = device;
        _context = context;
        _pool = new CudaMemoryPool(context);
        _cublas = cublas;
    }

    public Device Device { get; }
    public string Description => _context.Description;
    public CudaContext Context => _context;
    public CudaMemoryPool Pool => _pool;

    /// <summary>Makes <see cref="Backends.For"/> create CUDA backends (Backends does this by default; kept for callers that replaced the factory).</summary>
    public static void Register() => Backends.CudaFactory = Create;

    /// <summary>
    /// Opens the GPU, loads the kernels and cuBLAS. Throws <see cref="CudaUnavailableException"/> with one line
    /// ("no CUDA driver (libcuda.so.1 not found ...)", "no CUDA device", "kernels not built: run ./build.cuda.sh", ...).
    /// </summary>
    public static CudaBackend Create(Device device)
    {
        if (device.Kind != DeviceKind.Cuda) throw new ArgumentException($"CudaBackend needs a cuda device, got {device}.");
        var context = CudaContext.Open(device.Index);
        try
        {
            var missing = CudaKernels.Modules.Where(m => CudaKernels.EmbeddedPtx(m) is null).ToList();
            if (missing.Count == CudaKernels.Modules.Count)
                throw new CudaUnavailableException("kernels not built: run ./build.cuda.sh, then rebuild the engine");
            if (missing.Count > 0)
                throw new CudaUnavailableException($"kernels not built: kernels/ptx/{string.Join(", ", missing.Select(m => m + ".ptx"))} missing; run ./build.cuda.sh, then rebuild the engine");
            foreach (var module in CudaKernels.Modules)
                context.LoadModule(module, CudaKernels.EmbeddedPtx(module)!,
                    CudaKernels.EmbeddedCubin(module, context.ComputeMajor, context.ComputeMinor));
            if (!CudaLibraries.TryLoad(CudaLibraries.Cublas, out _, out var why))
                throw new CudaUnavailableException($"no cuBLAS ({why})");
            IntPtr handle;
            try { Cublas.Check(Cublas.cublasCreate_v2(out handle), "cublasCreate_v2"); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                throw new CudaUnavailableException($"no cuBLAS ({e.Message})", e);
            }
            Cublas.Check(Cublas.cublasSetStream_v2(handle, context.Stream), "cublasSetStream_v2");
            return new CudaBackend(device, context, handle);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static string? _probeResult;
    private static bool _probed;

    /// <summary>
    /// Null when cuda:0 can be used, otherwise the one-line reason it cannot (no driver, no device, kernels
    /// not built, no cuBLAS). Cached. Any other failure while starting (a CUDA error, a PTX that does not
    /// JIT) is a bug, not an absence, and is thrown, so GPU tests fail loudly instead of being skipped.
    /// </summary>
    public static string? UnavailableReason()
    {
        if (_probed) return _probeResult;
        try { Backends.For(Device.Cuda(0)); _probeResult = null; }
        catch (CudaUnavailableException e) { _probeResult = e.Message; }
        _probed = true;
        return _probeResult;
    }

    public void Dispose()
    {
        _context.Synchronize();
        DisposeCudnn();
        Cublas.cublasDestroy_v2(_cublas);
        _pool.Dispose();
        _context.Dispose();
    }

    // ---- helpers ----

    /// <summary>The device address of a tensor that must live on this backend's device.</summary>
    private DevicePointer P(Tensor t, string what = "tensor")
    {
        if (t.Storage is CudaStorage s && t.Device == Device) return s.Pointer;
        throw new ArgumentException($"{what}{(t.Name is null ? "" : " '" + t.Name + "'")} {t.Shape} lives on {t.Device}, but this op runs on {Device}.");
    }

    private KernelArg A(Tensor t) => P(t);
    private KernelArg A(Tensor? t, bool optional) => t is null ? KernelArg.NullPointer : P(t);

    private static long Blocks(long n) => Math.Max(1, (n + BlockThreads - 1) / BlockThreads);

    private void Launch(KernelSpec spec, long threads, params ReadOnlySpan<KernelArg> args)
    {
        if (threads <= 0) { spec.CheckArguments(args); return; }
        _context.Launch(spec, Math.Min(Blocks(threads), 1 << 20), BlockThreads, args);
    }

    private void LaunchBlocks(KernelSpec spec, int blocks, params ReadOnlySpan<KernelArg> args)
        => _context.Launch(spec, blocks, BlockThreads, args);

    private Scratch Rent(long bytes) => new(_pool, bytes);

    // ---- memory ----

    public Tensor Empty(Shape shape) => new(shape, new CudaStorage(Device, _pool, shape.Numel));

    public Tensor Zeros(Shape shape)
    {
        var t = Empty(shape);
        _context.Memset32(P(t), 0, shape.Numel);
        return t;
    }

    public void CopyFromHost(ReadOnlySpan<float> source, Tensor destination)
    {
        BackendContract.CopyFromHost(Device, source.Length, destination);
        _context.CopyHostToDevice(source, P(destination, "destination"));
    }

    public void CopyToHost(Tensor source, Span<float> destination)
    {
        BackendContract.CopyToHost(Device, source, destination.Length);
        _context.CopyDeviceToHost(P(source, "source"), destination);
    }

    public void Copy(Tensor source, Tensor destination)
    {
        BackendContract.Copy(Device, source, destination);
        _context.CopyDeviceToDevice(P(source, "source"), P(destination, "destination"), (long)source.Numel * sizeof(float));
    }

    public void Fill(Tensor tensor, float value)
    {
        BackendContract.Fill(Device, tensor);
        Launch(CudaKernels.Fill, tensor.Numel, A(tensor), value, tensor.Numel);
    }

    public void Synchronize() => _context.Synchronize();
}
