namespace SpikeEngine.Tensors;

/// <summary>The memory behind a tensor, tagged with its device. Backends own the concrete kinds.</summary>
public abstract class TensorStorage : IDisposable
{
    public abstract Device Device { get; }
    /// <summary>Number of float elements.</summary>
    public abstract int Length { get; }
    public abstract void Dispose();
}

/// <summary>Host memory: a (pooled) managed float array.</summary>
public sealed class CpuStorage : TensorStorage
{
    private float[]? _data;
    private readonly bool _pooled;

    public CpuStorage(int length, bool clear = true)
    {
        _data = BufferPool.Rent(length, clear);
        _pooled = true;
    }

    /// <summary>Wraps an existing array (not returned to the pool).</summary>
    public CpuStorage(float[] data)
    {
        _data = data;
        _pooled = false;
    }

    public override Device Device => Device.Cpu;
    public override int Length => Data.Length;
    public float[] Data => _data ?? throw new ObjectDisposedException(nameof(CpuStorage), "The tensor was disposed and its buffer returned to the pool.");
    public bool IsDisposed => _data is null;

    public override void Dispose()
    {
        var d = Interlocked.Exchange(ref _data, null);
        if (d is not null && _pooled) BufferPool.Return(d);
    }
}
