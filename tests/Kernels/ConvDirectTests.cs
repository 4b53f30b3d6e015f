using SpikeEngine.Backend.Cpu;
using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// The direct (column-matrix-free) convolution kernels and the path choice, on the layer shapes of ResNet-20
/// and on odd ones, against plain loops: forward against <see cref="ReferenceOps.Conv2d"/>, backward data and
/// backward weight against the obvious adjoint loops below. Strided and 1×1 layers are included to check
/// that they still take (and pass through) the im2col path.
/// </summary>
public class ConvDirectTests
{
    // N, C, H, W, K, R, S, stride, padH, padW, takes the direct path (on AVX-512)
    private static readonly int[][] Cases =
    [
        [2, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1],   // ResNet-20 stage 1
        [3, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1],   // stage 2
        [2, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1],     // stage 3
        [2, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1],    // stem
        [1, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1],   // one sample: output channels split over threads
        [3, 5, 13, 11, 7, 3, 3, 1, 1, 1, 1],     // odd sizes, K not a multiple of the tile
        [2, 6, 14, 13, 9, 3, 3, 1, 0, 0, 1],      // no padding
        [2, 4, 12, 12, 11, 5, 5, 1, 2, 2, 1],    // 5×5
        [2, 3, 9, 20, 4, 3, 1, 1, 1, 0, 1],      // R ≠ S
        [7, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1],       // small maps: backward weight runs groups of samples per tile
        [40, 2, 6, 6, 3, 3, 3, 1, 1, 1, 1],      // more samples than one group
        [7, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1],   // 32×32 maps: backward weight in groups of 3 samples, one part ending with 1
        [2, 16, 32, 32, 32, 3, 3, 2, 1, 1, 0],   // stride 2: im2col
        [2, 16, 32, 32, 32, 1, 1, 2, 0, 0, 0],   // 1×1 stride 2 shortcut: im2col
        [2, 16, 16, 16, 32, 1, 1, 1, 0, 0, 0],   // 1×1: GEMM on x directly
        [2, 8, 4, 4, 8, 3, 3, 1, 1, 1, 0],       // tiny map: too much of the padded grid wasted
    ];

    private static IEnumerable<TestCaseData> Geometries()
    {
        foreach (var c in Cases)
            yield return new TestCaseData(new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[7], c[8], c[9]), c[10] == 1)
                .SetArgDisplayNames($"N{c[0]}C{c[1]}{c[2]}x{c[3]}K{c[4]}k{c[5]}x{c[6]}s{c[7]}p{c[8]}{c[9]}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void PathChoice(Conv2dGeometry g, bool direct)
    {
        bool expected = direct && CpuBackend.GemmKernelWidth == 512;
        Assert.That(CpuBackend.UseDirectConv(g), Is.EqualTo(expected), $"{g}: direct path expected {expected}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void ForwardMatchesReference(Conv2dGeometry g, bool direct)
    {
        var rng = new Random(11);
        float[] x = Uniform(rng, g.InputShape.Numel), w = Uniform(rng, g.WeightShape.Numel), b = Uniform(rng, g.K);
        AssertConvForwardMatchesReference(x, w, b, g, "forward");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardDataMatchesAdjointLoop(Conv2dGeometry g, bool direct)
    {
        var rng = new Random(12);
        float[] dy = Uniform(rng, g.OutputShape.Numel), w = Uniform(rng, g.WeightShape.Numel);
        var expected = BackwardDataLoop(D(dy), D(w), g);
        foreach (int threads in new[] { 1, 2 })
            AssertClose(ConvBackwardData(dy, w, g, threads), expected, 1e-4, 1e-5 * Math.Sqrt(g.K * g.R * g.S), $"backward data threads={threads}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardWeightMatchesAdjointLoop(Conv2dGeometry g, bool direct)
    {
        var rng = new Random(13);
        float[] x = Uniform(rng, g.InputShape.Numel), dy = Uniform(rng, g.OutputShape.Numel);
        var (expectedW, expectedB) = BackwardWeightLoop(D(x), D(dy), g);
        int outPerK = g.N * g.OutH * g.OutW;
        foreach (int threads in new[] { 1, 2 })
        {
            using var tx = T(x, g.N, g.C, g.H, g.W); using var tdy = T(dy, g.N, g.K, g.OutH, g.OutW);
            using var tdw = T(Enumerable.Repeat(float.NaN, g.WeightShape.Numel).ToArray(), g.K, g.C, g.R, g.S);
            using var tdb = T(Enumerable.Repeat(float.NaN, g.K).ToArray(), g.K);
            Cpu(threads).Conv2dBackwardWeight(tx, tdy, tdw, tdb, g);
            AssertClose(tdw.Span, expectedW, 1e-4, 1e-5 * Math.Sqrt(outPerK), $"backward weight threads={threads}");
            AssertClose(tdb.Span, expectedB, 1e-4, 1e-5 * Math.Sqrt(outPerK), $"backward bias threads={threads}");
        }
    }

    /// <summary>dx[n, c, h, v] = Σ dy[n, k, i, j] · w[k, c, r, q] over the (i, j, r, q) with h = i·sh − ph + r, v = j·sw − pw + q.</summary>
    internal static double[] BackwardDataLoop(double[] dy, double[] w, Conv2dGeometry g)
    {
        var dx = new double[g.InputShape.Numel];
        ForEachTap(g, (n, k, i, j, c, r, q, h, v) =>
            dx[((n * g.C + c) * g.H + h) * g.W + v] += dy[((n * g.K + k) * g.OutH + i) * g.OutW + j] * w[((k * g.C + c) * g.R + r) * g.S + q]);
        return dx;
    }

    /// <summary>dw[k, c, r, q] = Σ dy[n, k, i, j] · x[n, c, h, v] over the same taps; dbias[k] = Σ dy[n, k, ·, ·].</summary>
    internal static (double[] Dw, double[] Db) BackwardWeightLoop(double[] x, double[] dy, Conv2dGeometry g)
    {
        var dw = new double[g.WeightShape.Numel];
        var db = new double[g.K];
        ForEachTap(g, (n, k, i, j, c, r, q, h, v) =>
            dw[((k * g.C + c) * g.R + r) * g.S + q] += dy[((n * g.K + k) * g.OutH + i) * g.OutW + j] * x[((n * g.C + c) * g.H + h) * g.W + v]);
        for (int n = 0; n < g.N; n++)
            for (int k = 0; k < g.K; k++)
                for (int p = 0; p < g.OutH * g.OutW; p++) db[k] += dy[(n * g.K + k) * g.OutH * g.OutW + p];
        return (dw, db);
    }

    private delegate void TapBody(int n, int k, int i, int j, int c, int r, int q, int h, int v);

    /// <summary>Every (output position, input channel, kernel tap) whose input position lies inside the image.</summary>
    private static void ForEachTap(Conv2dGeometry g, TapBody body)
    {
        for (int n = 0; n < g.N; n++)
        for (int k = 0; k < g.K; k++)
        for (int i = 0; i < g.OutH; i++)
        for (int j = 0; j < g.OutW; j++)
        for (int c = 0; c < g.C; c++)
        for (int r = 0; r < g.R; r++)
        for (int q = 0; q < g.S; q++)
        {
            int h = i * g.StrideH - g.PadH + r, v = j * g.StrideW - g.PadW + q;
            if (h >= 0 && h < g.H && v >= 0 && v < g.W) body(n, k, i, j, c, r, q, h, v);
        }
    }
}
