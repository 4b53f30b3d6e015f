using SpikeEngine.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

/// <summary>
/// A caching allocator: freed device blocks are kept by rounded size and handed out again, so a
/// training or simulation loop stops calling cuMemAlloc after its first iteration. All work runs on
/// the context's one stream, so a block freed after queuing a kernel may be reused by the next kernel
/// in stream order. When an allocation fails the cache is released and the allocation retried.
/// </summary>
public sealed class CudaMemoryPool : IDisposable
{
    private readonly CudaContext _context;
    private readonly Dictionary<long, Stack<DevicePointer>> _free = new();
    private readonly object _gate = new();

    /// <summary>
    /// On the emulated device blocks have the exact size asked for, so its guard page right after every
    /// allocation catches a kernel that runs past the end of its tensor (rounding would leave slack).
    /// </summary>
    private readonly bool _exactSizes;

    public CudaMemoryPool(CudaContext context)
    {
        _context = context;
        _exactSizes = context.IsEmulated;
    }

    /// <summary>Bytes held by live blocks and by cached free blocks.</summary>
    public long InUseBytes { get; private set; }
    public long CachedBytes { get; private set; }

    /// <summary>Rounds to 512 B up to 1 MiB and to 1 MiB above, so similar sizes share blocks.</summary>
    public static long RoundSize(long bytes)
    {
        bytes = Math.Max(bytes, 1);
        const long small = 512, large = 1 << 20;
        return bytes <= large ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
    }

    /// <summary>The size of the block <see cref="Rent"/> hands out for <paramref name="bytes"/>.</summary>
    public long BlockSize(long bytes) => _exactSizes ? Math.Max(bytes, 1) : RoundSize(bytes);

    public DevicePointer Rent(long bytes, out long blockBytes)
    {
        blockBytes = BlockSize(bytes);
        lock (_gate)
            if (TryRentLocked(blockBytes, out var p)) return p;
        // Out of memory: tensors nobody disposed give their blocks back through their finalizers (outside
        // the lock, which Return takes), then the whole cache is freed and the allocation retried once.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        lock (_gate)
        {
            if (TryRentLocked(blockBytes, out var p)) return p;
            ReleaseCachedLocked();
            if (TryRentLocked(blockBytes, out p)) return p;
            throw new CudaException($"cuMemAlloc_v2({blockBytes} bytes)", CuDriver.ErrorOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY",
                $"out of GPU memory ({InUseBytes >> 20} MiB in use by tensors)");
        }
    }

    private bool TryRentLocked(long blockBytes, out DevicePointer pointer)
    {
        if (_free.TryGetValue(blockBytes, out var stack) && stack.Count > 0)
        {
            CachedBytes -= blockBytes;
            InUseBytes += blockBytes;
            pointer = stack.Pop();
            return true;
        }
        if (!_context.TryAllocate(blockBytes, out pointer)) return false;
        InUseBytes += blockBytes;
        return true;
    }

    public void Return(DevicePointer pointer, long blockBytes)
    {
        lock (_gate)
        {
            if (!_free.TryGetValue(blockBytes, out var stack)) _free[blockBytes] = stack = new Stack<DevicePointer>();
            stack.Push(pointer);
            InUseBytes -= blockBytes;
            CachedBytes += blockBytes;
        }
    }

    /// <summary>Frees every cached block (waits for queued work first, which may still use them).</summary>
    public void ReleaseCached()
    {
        lock (_gate) ReleaseCachedLocked();
    }

    private void ReleaseCachedLocked()
    {
        _context.Synchronize();
        foreach (var stack in _free.Values)
            while (stack.Count > 0) _context.Free(stack.Pop());
        _free.Clear();
        CachedBytes = 0;
    }

    public void Dispose() => ReleaseCached();
}

/// <summary>Device memory behind a CUDA tensor: a pooled block of at least Length floats.</summary>
public sealed class CudaStorage : TensorStorage
{
    private readonly CudaMemoryPool _pool;
    private readonly long _blockBytes;
    private ulong _address;

    internal CudaStorage(Device device, CudaMemoryPool pool, int length)
    {
        Device = device;
        _pool = pool;
        Length = length;
        _address = pool.Rent((long)length * sizeof(float), out _blockBytes).Address;
    }

    public override Device Device { get; }
    public override int Length { get; }
    public bool IsDisposed => _address == 0;

    public DevicePointer Pointer => _address != 0
        ? new DevicePointer(_address)
        : throw new ObjectDisposedException(nameof(CudaStorage), "The tensor was disposed and its device memory returned to the pool.");

    public override void Dispose()
    {
        var a = Interlocked.Exchange(ref _address, 0);
        if (a != 0) _pool.Return(new DevicePointer(a), _blockBytes);
        GC.SuppressFinalize(this);
    }

    /// <summary>A tensor dropped without Dispose still returns its block (to the pool's free list; no CUDA call here).</summary>
    ~CudaStorage()
    {
        var a = Interlocked.Exchange(ref _address, 0);
        if (a != 0) _pool.Return(new DevicePointer(a), _blockBytes);
    }
}

/// <summary>A scratch device block rented for the duration of one op.</summary>
internal readonly struct Scratch : IDisposable
{
    private readonly CudaMemoryPool _pool;
    private readonly long _blockBytes;
    public DevicePointer Pointer { get; }

    public Scratch(CudaMemoryPool pool, long bytes)
    {
        _pool = pool;
        Pointer = pool.Rent(bytes, out _blockBytes);
    }

    public void Dispose() => _pool.Return(Pointer, _blockBytes);
}
