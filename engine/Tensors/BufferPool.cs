using System.Collections.Concurrent;

namespace SpikeEngine.Tensors;

/// <summary>
/// Reuses float arrays by exact length so that the forward/backward passes of a training or
/// simulation loop stop allocating once the first iteration has warmed the pool.
/// Arrays are returned by <see cref="Tensor.Dispose"/>; arrays never returned are simply collected.
/// </summary>
public static class BufferPool
{
    private static readonly ConcurrentDictionary<int, ConcurrentBag<float[]>> Bags = new();
    private static long _pooledFloats;
    /// <summary>Upper bound on floats kept idle in the pool (default 1 Gi floats = 4 GiB).</summary>
    public static long MaxPooledFloats { get; set; } = 1L << 30;

    public static float[] Rent(int length, bool clear)
    {
        if (length == 0) return [];
        if (Bags.TryGetValue(length, out var bag) && bag.TryTake(out var arr))
        {
            Interlocked.Add(ref _pooledFloats, -length);
            if (clear) Array.Clear(arr);
            return arr;
        }
        return clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
    }

    public static void Return(float[] array)
    {
        if (array.Length == 0) return;
        if (Interlocked.Add(ref _pooledFloats, array.Length) > MaxPooledFloats)
        {
            Interlocked.Add(ref _pooledFloats, -array.Length);
            return;
        }
        Bags.GetOrAdd(array.Length, _ => new ConcurrentBag<float[]>()).Add(array);
    }

    /// <summary>Drops every idle array (e.g. between unrelated workloads).</summary>
    public static void Trim()
    {
        Bags.Clear();
        Interlocked.Exchange(ref _pooledFloats, 0);
    }
}
