using SpikeEngine.Backend.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>Memory, elementwise ops and sums: CUDA against the CPU backend.</summary>
public class CudaElementwiseTests : GpuTestBase
{
    private static readonly int[] Sizes = [1, 7, 256, 1000, 65_537, 1_000_003];

    [Test]
    public void MemoryRoundTripsFillAndZeros([ValueSource(nameof(Sizes))] int n)
    {
        var data = Random(new Random(n), n);
        using var g = Tensor.FromArray(data, new Shape(n), Gpu);
        Assert.That(g.ToArray(), Is.EqualTo(data), "host → device → host");
        using var copy = g.Clone();
        Assert.That(copy.ToArray(), Is.EqualTo(data), "device copy");
        Cuda.Fill(copy, -2.5f);
        Assert.That(copy.ToArray(), Is.All.EqualTo(-2.5f), "fill");
        using var z = Tensor.Zeros(new Shape(n), Gpu);
        Assert.That(z.ToArray(), Is.All.EqualTo(0f), "zeros");
        Assert.That(() => g.Span.Length, Throws.InvalidOperationException.With.Message.Contains("cuda:0"));
    }

    [Test]
    public void AddMulAxpyScaleMatchCpu([ValueSource(nameof(Sizes))] int n)
    {
        var rng = new Random(10 + n);
        var shape = new Shape(n);
        var (a, ga) = BothRandom(rng, shape);
        var (b, gb) = BothRandom(rng, shape);
        var (y, gy) = BothRandom(rng, shape);
        Cpu.Add(a, b, y); Cuda.Add(ga, gb, gy); AssertExact(y, gy, "add");
        Cpu.Mul(a, b, y); Cuda.Mul(ga, gb, gy); AssertExact(y, gy, "mul");
        Cpu.Scale(a, 0.37f, y); Cuda.Scale(ga, 0.37f, gy); AssertExact(y, gy, "scale");
        // the CPU may fuse the multiply-add (FMA): one rounding of difference allowed
        Cpu.Axpy(-1.7f, a, y); Cuda.Axpy(-1.7f, ga, gy); AssertClose(y, gy, 1e-6f, 1e-6f, "axpy");
    }

    [Test]
    public void SumMatchesCpu([ValueSource(nameof(Sizes))] int n)
    {
        var (x, gx) = BothRandom(new Random(20 + n), new Shape(n), 0f, 1f);
        double cpu = Cpu.Sum(x), gpu = Cuda.Sum(gx);
        Assert.That(gpu, Is.EqualTo(cpu).Within(1e-5 * Math.Max(1, Math.Abs(cpu))), "sum");
    }

    [Test]
    public void PoolHandsFreedBlocksOutAgain()
    {
        // A pool of its own: the shared one also receives blocks from finalizers of tensors other tests dropped.
        using var pool = new CudaMemoryPool(Cuda.Context);
        var p = pool.Rent(12000, out var block);
        Assert.That(block, Is.EqualTo(pool.BlockSize(12000)).And.GreaterThanOrEqualTo(12000));
        Assert.That((pool.InUseBytes, pool.CachedBytes), Is.EqualTo((block, 0L)));
        pool.Return(p, block);
        Assert.That((pool.InUseBytes, pool.CachedBytes), Is.EqualTo((0L, block)));
        var q = pool.Rent(12000, out var block2);
        Assert.That(q, Is.EqualTo(p), "the freed block is reused");
        Assert.That((block2, pool.InUseBytes, pool.CachedBytes), Is.EqualTo((block, block, 0L)));
        pool.Return(q, block2);

        var a = Cuda.Empty(new Shape(1000, 3));
        a.Dispose();
        Assert.That(() => a.ToArray(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void TensorOnTheWrongDeviceGetsAClearError()
    {
        using var host = Tensor.Zeros(new Shape(4));
        using var dev = Tensor.Zeros(new Shape(4), Gpu);
        Assert.That(() => Cuda.Add(host, dev, dev), Throws.ArgumentException.With.Message.EqualTo("Add: a [4] lives on cpu, but this op runs on cuda:0."));
    }
}
