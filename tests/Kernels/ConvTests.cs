using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class ConvTests
{
    // N, C, H, W, K, R, S, strideH, strideW, padH, padW
    private static readonly int[][] Cases =
    [
        [1, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1],
        [2, 3, 8, 9, 5, 3, 3, 2, 2, 1, 1],
        [3, 2, 9, 7, 3, 1, 1, 1, 1, 0, 0],
        [2, 4, 6, 5, 2, 1, 1, 2, 2, 0, 0],
        [1, 2, 13, 12, 3, 7, 7, 2, 2, 3, 3],
        [2, 2, 11, 10, 2, 7, 7, 1, 1, 2, 2],
        [2, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0],
        [3, 1, 6, 5, 2, 3, 3, 2, 2, 2, 2],
        [5, 16, 4, 4, 8, 3, 3, 1, 1, 1, 1],
        [2, 3, 7, 6, 2, 1, 3, 1, 2, 0, 1],
        [1, 5, 10, 3, 6, 3, 1, 2, 1, 1, 0],
        [4, 6, 1, 1, 7, 1, 1, 1, 1, 0, 0],
        [2, 3, 9, 9, 4, 1, 1, 1, 1, 1, 1],
        // Feature maps of >= 256 positions: one sample per GEMM (pointwise reads the input directly).
        [2, 3, 16, 17, 4, 1, 1, 1, 1, 0, 0],
        [3, 2, 16, 16, 3, 3, 3, 1, 1, 1, 1],
    ];

    private static IEnumerable<TestCaseData> Geometries()
    {
        foreach (var c in Cases)
            yield return new TestCaseData(new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]))
                .SetArgDisplayNames($"N{c[0]}C{c[1]}{c[2]}x{c[3]}K{c[4]}k{c[5]}x{c[6]}s{c[7]}{c[8]}p{c[9]}{c[10]}");
    }

    private static (float[] X, float[] W, float[] B, float[] R) Data(Conv2dGeometry g, int seed)
    {
        var rng = new Random(seed);
        return (Uniform(rng, g.InputShape.Numel), Uniform(rng, g.WeightShape.Numel), Uniform(rng, g.K), Uniform(rng, g.OutputShape.Numel));
    }

    [TestCaseSource(nameof(Geometries))]
    public void ForwardMatchesNaiveLoop(Conv2dGeometry g)
    {
        var (x, w, b, _) = Data(g, 1);
        AssertConvForwardMatchesReference(x, w, b, g, "conv forward");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardDataMatchesFiniteDifferences(Conv2dGeometry g)
    {
        var (x, w, _, r) = Data(g, 2);
        double[] wd = D(w), rd = D(r);
        // L(x) = Σ r·conv(x, w): dL/dx is the backward-data of dy = r.
        var expected = FiniteDifference(xs => Dot(rd, ReferenceOps.Conv2d(xs, wd, null, g)), D(x), 1e-3);
        foreach (int threads in new[] { 1, 2 })
            AssertClose(ConvBackwardData(r, w, g, threads), expected, 1e-4, 1e-5 * Math.Sqrt(g.K * g.R * g.S), $"conv dx threads={threads}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BackwardWeightAndBiasMatchFiniteDifferences(Conv2dGeometry g)
    {
        var (x, w, b, r) = Data(g, 3);
        double[] xd = D(x), rd = D(r), bd = D(b);
        var expectedW = FiniteDifference(ws => Dot(rd, ReferenceOps.Conv2d(xd, ws, null, g)), D(w), 1e-3);
        var expectedB = FiniteDifference(bs => Dot(rd, ReferenceOps.Conv2d(xd, D(w), bs, g)), bd, 1e-3);
        int outPerK = g.N * g.OutH * g.OutW;
        foreach (int threads in new[] { 1, 2 })
        foreach (bool withBias in new[] { false, true })
        {
            using var tx = T(x, g.N, g.C, g.H, g.W); using var tr = T(r, g.N, g.K, g.OutH, g.OutW);
            using var tdw = T(Enumerable.Repeat(float.NaN, g.WeightShape.Numel).ToArray(), g.K, g.C, g.R, g.S);
            using var tdb = T(Enumerable.Repeat(float.NaN, g.K).ToArray(), g.K);
            Cpu(threads).Conv2dBackwardWeight(tx, tr, tdw, withBias ? tdb : null, g);
            AssertClose(tdw.Span, expectedW, 1e-4, 1e-5 * Math.Sqrt(outPerK), $"conv dw threads={threads}");
            if (withBias) AssertClose(tdb.Span, expectedB, 1e-4, 1e-5 * Math.Sqrt(outPerK), $"conv dbias threads={threads}");
        }
    }
}
