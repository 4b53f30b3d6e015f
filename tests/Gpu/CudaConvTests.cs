using SpikeEngine.Backend.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>Convolution (im2col + cuBLAS, and cuDNN) against the CPU backend (float tolerance: summation order differs).</summary>
public class CudaConvTests : GpuTestBase
{
    private const float Atol = 1e-4f, Rtol = 1e-4f;

    public static IEnumerable<TestCaseData> Convolutions()
    {
        // N, C, H, W, K, R, S, strideH, strideW, padH, padW
        yield return new TestCaseData(2, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1).SetName("Conv 3x3 pad 1");
        yield return new TestCaseData(3, 5, 9, 7, 6, 3, 3, 2, 2, 1, 1).SetName("Conv 3x3 stride 2 odd sizes");
        yield return new TestCaseData(2, 8, 6, 6, 16, 1, 1, 1, 1, 0, 0).SetName("Conv 1x1 pointwise");
        yield return new TestCaseData(2, 8, 7, 7, 4, 1, 1, 2, 2, 0, 0).SetName("Conv 1x1 stride 2 shortcut");
        yield return new TestCaseData(1, 2, 11, 13, 3, 5, 3, 1, 2, 2, 1).SetName("Conv 5x3 mixed stride and pad");
        yield return new TestCaseData(4, 16, 16, 16, 32, 3, 3, 1, 1, 1, 1).SetName("Conv 16->32 at 16x16");
        yield return new TestCaseData(2, 3, 5, 5, 2, 5, 5, 1, 1, 0, 0).SetName("Conv kernel covers the input");
    }

    [TestCaseSource(nameof(Convolutions))]
    public void ConvolutionMatchesCpu(int n, int c, int h, int w, int k, int r, int s, int sh, int sw, int ph, int pw)
        => CompareConvolution(new Conv2dGeometry(n, c, h, w, k, r, s, sh, sw, ph, pw));

    [Test]
    public void ConvolutionInSampleChunksMatchesCpu()
    {
        var saved = CudaBackend.MaxColumnFloats;
        try
        {
            CudaBackend.MaxColumnFloats = 3 * 27 * 64 + 5; // three samples per im2col chunk, the last chunk partial
            CompareConvolution(new Conv2dGeometry(7, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1));
        }
        finally { CudaBackend.MaxColumnFloats = saved; }
    }

    /// <summary>cuDNN as a second, independent GPU reference for our im2col + SGEMM path (skipped where cuDNN is absent).</summary>
    [TestCaseSource(nameof(Convolutions))]
    public void ConvolutionMatchesCudnn(int n, int c, int h, int w, int k, int r, int s, int sh, int sw, int ph, int pw)
    {
        RequireCudnn();
        var g = new Conv2dGeometry(n, c, h, w, k, r, s, sh, sw, ph, pw);
        var rng = new Random(g.GetHashCode() + 1);
        using var x = Tensor.FromArray(Random(rng, g.InputShape.Numel), g.InputShape, Gpu);
        using var wt = Tensor.FromArray(Random(rng, g.WeightShape.Numel), g.WeightShape, Gpu);
        using var b = Tensor.FromArray(Random(rng, g.K), new Shape(g.K), Gpu);
        using var dy = Tensor.FromArray(Random(rng, g.OutputShape.Numel), g.OutputShape, Gpu);
        using var y1 = Cuda.Empty(g.OutputShape); using var y2 = Cuda.Empty(g.OutputShape);
        using var dx1 = Cuda.Empty(g.InputShape); using var dx2 = Cuda.Empty(g.InputShape);
        using var dw1 = Cuda.Empty(g.WeightShape); using var dw2 = Cuda.Empty(g.WeightShape);
        using var db1 = Cuda.Empty(new Shape(g.K)); using var db2 = Cuda.Empty(new Shape(g.K));
        Cuda.Conv2dForward(x, wt, b, y1, g); Cuda.CudnnConvolutionForward(x, wt, b, y2, g);
        Cuda.Conv2dBackwardData(dy, wt, dx1, g); Cuda.CudnnConvolutionBackwardData(dy, wt, dx2, g);
        Cuda.Conv2dBackwardWeight(x, dy, dw1, db1, g); Cuda.CudnnConvolutionBackwardFilter(x, dy, dw2, db2, g);
        AssertClose(y2, y1, Atol, Rtol, $"{g}: y (cuDNN vs ours)");
        AssertClose(dx2, dx1, Atol, Rtol, $"{g}: dx (cuDNN vs ours)");
        AssertClose(dw2, dw1, 1e-3f, 1e-4f, $"{g}: dw (cuDNN vs ours)");
        AssertClose(db2, db1, 1e-3f, 1e-4f, $"{g}: dbias (cuDNN vs ours)");
    }

    private void CompareConvolution(Conv2dGeometry g)
    {
        var rng = new Random(g.GetHashCode());
        var (x, gx) = BothRandom(rng, g.InputShape);
        var (w, gw) = BothRandom(rng, g.WeightShape);
        var (b, gb) = BothRandom(rng, new Shape(g.K));
        var (dy, gdy) = BothRandom(rng, g.OutputShape);
        using var y = Cpu.Empty(g.OutputShape); using var gy = Cuda.Empty(g.OutputShape);
        Cpu.Conv2dForward(x, w, b, y, g); Cuda.Conv2dForward(gx, gw, gb, gy, g);
        AssertClose(y, gy, Atol, Rtol, $"{g}: y");
        using var dx = Cpu.Empty(g.InputShape); using var gdx = Cuda.Empty(g.InputShape);
        Cuda.Fill(gdx, float.NaN); // overwritten, never accumulated into
        Cpu.Conv2dBackwardData(dy, w, dx, g); Cuda.Conv2dBackwardData(gdy, gw, gdx, g);
        AssertClose(dx, gdx, Atol, Rtol, $"{g}: dx");
        using var dw = Cpu.Empty(g.WeightShape); using var gdw = Cuda.Empty(g.WeightShape);
        using var db = Cpu.Empty(new Shape(g.K)); using var gdb = Cuda.Empty(new Shape(g.K));
        Cuda.Fill(gdw, float.NaN); Cuda.Fill(gdb, float.NaN);
        Cpu.Conv2dBackwardWeight(x, dy, dw, db, g); Cuda.Conv2dBackwardWeight(gx, gdy, gdw, gdb, g);
        AssertClose(dw, gdw, 1e-3f, 1e-4f, $"{g}: dw");
        AssertClose(db, gdb, 1e-3f, 1e-4f, $"{g}: dbias");
    }
}
