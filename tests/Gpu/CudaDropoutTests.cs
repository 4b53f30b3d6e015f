namespace SpikeEngine.Tests.Gpu;

/// <summary>Dropout: the CUDA mask is the CPU mask (same counter-based hash).</summary>
public class CudaDropoutTests : GpuTestBase
{
    [TestCase(0.0f, 12345UL)]
    [TestCase(0.1f, 1UL)]
    [TestCase(0.5f, 0xDEADBEEFCAFEUL)]
    public void DropoutMaskIsTheCpuMask(float p, ulong seed)
    {
        var shape = new Shape(4, 3, 17, 19);
        var (x, gx) = BothRandom(new Random(40), shape);
        using var y = Cpu.Empty(shape); using var mask = Cpu.Empty(shape);
        using var gy = Cuda.Empty(shape); using var gmask = Cuda.Empty(shape);
        Cpu.DropoutForward(x, p, seed, y, mask);
        Cuda.DropoutForward(gx, p, seed, gy, gmask);
        var m = gmask.ToArray();
        float keep = 1f / (1f - p);
        Assert.That(m, Is.All.EqualTo(0f).Or.EqualTo(keep), "mask values");
        double dropped = m.Count(v => v == 0f) / (double)m.Length;
        Assert.That(dropped, Is.EqualTo(p).Within(0.02), "drop rate");
        AssertExact(mask, gmask, "mask (same counter-based hash as the CPU)");
        AssertExact(y, gy, "y = x·mask");
    }
}
