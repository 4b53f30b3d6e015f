namespace SpikeEngine.Tests.Gpu;

/// <summary>QCFS forward and backward (with the λ gradient): CUDA against the CPU backend.</summary>
public class CudaQcfsTests : GpuTestBase
{
    [TestCase(4, 8.0f, 1000)]
    [TestCase(8, 2.5f, 100_003)]
    [TestCase(16, 0.7f, 4096)]
    [TestCase(1, 1.0f, 333)]
    public void QcfsForwardAndBackwardMatchCpu(int levels, float lambda, int n)
    {
        var rng = new Random(levels * n);
        var shape = new Shape(n);
        var (x, gx) = BothRandom(rng, shape, -0.5f * lambda, 1.5f * lambda);
        var (lam, glam) = Both([lambda], new Shape(1));
        var (dy, gdy) = BothRandom(rng, shape);
        using var y = Cpu.Empty(shape); using var gy = Cuda.Empty(shape);
        Cpu.QcfsForward(x, lam, levels, y); Cuda.QcfsForward(gx, glam, levels, gy);
        AssertClose(y, gy, 1e-6f, 1e-6f, "y");
        using var dx = Cpu.Empty(shape); using var gdx = Cuda.Empty(shape);
        using var dl = Cpu.Empty(new Shape(1)); using var gdl = Cuda.Empty(new Shape(1));
        Cpu.QcfsBackward(dy, x, lam, levels, dx, dl); Cuda.QcfsBackward(gdy, gx, glam, levels, gdx, gdl);
        AssertExact(dx, gdx, "dx (straight-through mask)");
        AssertClose(dl, gdl, 1e-3f, 1e-4f, "dλ (reduced)");
    }
}
