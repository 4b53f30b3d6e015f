namespace SpikeEngine.Tests.Gpu;

/// <summary>Average and global average pooling: CUDA against the CPU backend.</summary>
public class CudaPoolTests : GpuTestBase
{
    [TestCase(2, 3, 8, 8, 2, 2, 0)]
    [TestCase(3, 4, 7, 9, 3, 1, 1)]
    [TestCase(1, 2, 9, 9, 3, 2, 1)]
    [TestCase(2, 5, 32, 32, 2, 2, 0)]
    public void AvgPoolMatchesCpu(int n, int c, int h, int w, int kernel, int stride, int pad)
    {
        var g = Pool2dGeometry.Create(new Shape(n, c, h, w), kernel, stride, pad);
        var rng = new Random(n * c * h * w + kernel);
        var (x, gx) = BothRandom(rng, g.InputShape);
        var (dy, gdy) = BothRandom(rng, g.OutputShape);
        using var y = Cpu.Empty(g.OutputShape); using var gy = Cuda.Empty(g.OutputShape);
        Cpu.AvgPool2dForward(x, y, g); Cuda.AvgPool2dForward(gx, gy, g);
        AssertClose(y, gy, 1e-6f, 1e-6f, "y");
        using var dx = Cpu.Empty(g.InputShape); using var gdx = Cuda.Empty(g.InputShape);
        Cuda.Fill(gdx, float.NaN);
        Cpu.AvgPool2dBackward(dy, dx, g); Cuda.AvgPool2dBackward(gdy, gdx, g);
        AssertClose(dx, gdx, 1e-6f, 1e-6f, "dx");
    }

    [TestCase(2, 3, 4, 4)]
    [TestCase(5, 64, 8, 8)]
    [TestCase(1, 7, 1, 1)]
    public void GlobalAvgPoolMatchesCpu(int n, int c, int h, int w)
    {
        var rng = new Random(n + c + h);
        var (x, gx) = BothRandom(rng, new Shape(n, c, h, w));
        var (dy, gdy) = BothRandom(rng, new Shape(n, c));
        using var y = Cpu.Empty(new Shape(n, c)); using var gy = Cuda.Empty(new Shape(n, c));
        Cpu.GlobalAvgPoolForward(x, y); Cuda.GlobalAvgPoolForward(gx, gy);
        AssertClose(y, gy, 1e-6f, 1e-5f, "y");
        using var dx = Cpu.Empty(x.Shape); using var gdx = Cuda.Empty(x.Shape);
        Cpu.GlobalAvgPoolBackward(dy, dx); Cuda.GlobalAvgPoolBackward(gdy, gdx);
        AssertClose(dx, gdx, 1e-7f, 1e-6f, "dx");
    }
}
