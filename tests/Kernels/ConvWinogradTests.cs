using SpikeEngine.Backend.Cpu;
using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// The Winograd F(2×2, 3×3) path for 3×3 stride-1 convolutions, forced on for every geometry it can take, against plain
/// loops: forward against <see cref="ReferenceOps.Conv2d"/>, backward data and backward weight against the adjoint loops
/// of <see cref="ConvDirectTests"/>. The geometries cover what the tiling has to get right: odd maps (a last tile half
/// outside), paddings 0, 1 and 2, maps wider than 32 columns (two vectors of tiles a row, the second partial), maps
/// cut into blocks of tile rows and blocks of several samples, one sample, channel counts that fill no vector.
/// </summary>
[NonParallelizable]
public class ConvWinogradTests
{
    [SetUp] public void Force() => CpuBackend.WinogradForced = true;
    [TearDown] public void Restore() => CpuBackend.WinogradForced = false;

    // N, C, H, W, K, padH, padW
    private static readonly int[][] Cases =
    [
        [2, 64, 32, 32, 64, 1, 1],     // VGG-16 stage 1: blocks of 8 tile rows, one vector of tiles a row
        [3, 16, 16, 16, 24, 1, 1],     // blocks of whole samples
        [9, 8, 4, 4, 8, 1, 1],         // 4×4 maps: 4 tiles a sample, blocks of several samples, a last partial block
        [5, 6, 2, 2, 5, 1, 1],         // 2×2 maps: one tile a sample
        [1, 5, 13, 11, 7, 1, 1],       // odd map: the last tile row and column half outside; one sample
        [2, 3, 9, 40, 4, 1, 1],        // 40 columns: 20 tiles a row, the second vector partial
        [2, 4, 70, 66, 3, 1, 1],       // large map: several blocks of tile rows per sample, 33 tiles a row
        [2, 5, 10, 9, 6, 0, 0],        // no padding (8×7 out)
        [2, 5, 7, 8, 6, 2, 2],         // padding 2 (9×10 out)
        [2, 5, 7, 8, 6, 0, 2],         // padding differing between rows and columns
        [1, 1, 3, 3, 1, 0, 0],         // a single output
    ];

    private static IEnumerable<TestCaseData> Geometries()
    {
        foreach (var c in Cases)
            yield return new TestCaseData(new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], 3, 3, 1, 1, c[5], c[6]))
                .SetArgDisplayNames($"N{c[0]}C{c[1]}{c[2]}x{c[3]}K{c[4]}p{c[5]}{c[6]}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void ForwardMatchesReference(Conv2dGeometry g)
    {
        Assert.That(CpuBackend.UseWinograd(g), Is.EqualTo(CpuBackend.GemmKernelWidth == 512), "the Winograd path is forced on AVX-512");
        var rng = new Random(31);
        float[] x = Uniform(rng, g.InputShape.Numel), w = Uniform(rng, g.WeightShape.Numel), b = Uniform(rng, g.K);
        AssertConvForwardMatchesReference(x, w, b, g, "winograd forward");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardDataMatchesAdjointLoop(Conv2dGeometry g)
    {
        var rng = new Random(32);
        float[] dy = Uniform(rng, g.OutputShape.Numel), w = Uniform(rng, g.WeightShape.Numel);
        var expected = ConvDirectTests.BackwardDataLoop(D(dy), D(w), g);
        foreach (int threads in new[] { 1, 2 })
            AssertClose(ConvBackwardData(dy, w, g, threads), expected, 1e-4, 1e-5 * Math.Sqrt(g.K * 9), $"winograd backward data threads={threads}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardWeightMatchesAdjointLoop(Conv2dGeometry g)
    {
        var rng = new Random(33);
        float[] x = Uniform(rng, g.InputShape.Numel), dy = Uniform(rng, g.OutputShape.Numel);
        var (expectedW, expectedB) = ConvDirectTests.BackwardWeightLoop(D(x), D(dy), g);
        int outPerK = g.N * g.OutH * g.OutW;
        foreach (int threads in new[] { 1, 2 })
        {
            using var tx = T(x, g.N, g.C, g.H, g.W); using var tdy = T(dy, g.N, g.K, g.OutH, g.OutW);
            using var tdw = T(Enumerable.Repeat(float.NaN, g.WeightShape.Numel).ToArray(), g.K, g.C, 3, 3);
            using var tdb = T(Enumerable.Repeat(float.NaN, g.K).ToArray(), g.K);
            Cpu(threads).Conv2dBackwardWeight(tx, tdy, tdw, tdb, g);
            AssertClose(tdw.Span, expectedW, 1e-4, 1e-5 * Math.Sqrt(outPerK), $"winograd backward weight threads={threads}");
            AssertClose(tdb.Span, expectedB, 1e-4, 1e-5 * Math.Sqrt(outPerK), $"backward bias threads={threads}");
        }
    }

    /// <summary>A non-finite input reaches exactly the outputs whose 3×3 windows hold it, as in the direct form: the
    /// transforms' zero coefficients keep it out of the other outputs of the tiles that read it, and nothing reaches the
    /// tiles that only share its block, nor the other sample.</summary>
    [Test]
    public void NaNReachesTheOutputsOfItsWindowsOnly()
    {
        var g = new Conv2dGeometry(2, 4, 8, 8, 3, 3, 3, 1, 1, 1, 1);
        var rng = new Random(34);
        float[] x = Uniform(rng, g.InputShape.Numel), w = Uniform(rng, g.WeightShape.Numel);
        x[(1 * g.C + 2) * 64 + 5 * 8 + 6] = float.NaN;   // sample 1, channel 2, row 5, column 6
        using var tx = T(x, g.N, g.C, g.H, g.W); using var tw = T(w, g.K, g.C, 3, 3);
        using var ty = T(new float[g.OutputShape.Numel], g.N, g.K, g.OutH, g.OutW);
        Cpu(2).Conv2dForward(tx, tw, null, ty, g);
        var y = ty.ToArray();
        for (int n = 0; n < g.N; n++)
            for (int k = 0; k < g.K; k++)
                for (int i = 0; i < 8; i++)
                    for (int j = 0; j < 8; j++)
                    {
                        // rows 4–6, columns 5–7 (tiles (2..3, 2..3) read it, but their row 7 and column 4 do not depend on it)
                        bool reached = n == 1 && i is >= 4 and <= 6 && j is >= 5 and <= 7;
                        Assert.That(float.IsNaN(y[((n * g.K + k) * 8 + i) * 8 + j]), Is.EqualTo(reached), $"y[{n}, {k}, {i}, {j}]");
                    }
    }

    [Test]
    public void PathChoice()
    {
        CpuBackend.WinogradForced = false;
        bool avx512 = CpuBackend.GemmKernelWidth == 512;
        // VGG-16 (CIFAR) 3×3 layers with at least 64 channels on 4×4 maps and up: Winograd
        foreach (var (c, hw, k) in new[] { (64, 32, 64), (64, 16, 128), (128, 16, 128), (128, 8, 256), (256, 8, 256), (256, 4, 512), (512, 4, 512) })
            Assert.That(CpuBackend.UseWinograd(new Conv2dGeometry(64, c, hw, hw, k, 3, 3, 1, 1, 1, 1)), Is.EqualTo(avx512), $"{c}→{k} {hw}×{hw}");
        // ResNet-20's layers, VGG-16's 2×2 stage and its stem, strided, 1×1 and 5×5 layers: not
        foreach (var g in new[]
        {
            new Conv2dGeometry(64, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1), new Conv2dGeometry(64, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1),
            new Conv2dGeometry(64, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1), new Conv2dGeometry(64, 512, 2, 2, 512, 3, 3, 1, 1, 1, 1),
            new Conv2dGeometry(64, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1), new Conv2dGeometry(64, 128, 16, 16, 256, 3, 3, 2, 2, 1, 1),
            new Conv2dGeometry(64, 128, 16, 16, 128, 1, 1, 1, 1, 0, 0), new Conv2dGeometry(64, 128, 16, 16, 128, 5, 5, 1, 1, 2, 2),
        })
            Assert.That(CpuBackend.UseWinograd(g), Is.False, $"{g}");
        CpuBackend.WinogradEnabled = false;
        try { Assert.That(CpuBackend.UseWinograd(new Conv2dGeometry(64, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1)), Is.False, "switched off"); }
        finally { CpuBackend.WinogradEnabled = true; }
    }
}
