using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class PoolTests
{
    // N, C, H, W, kernel, stride, padding
    private static readonly int[][] Cases =
    [
        [1, 1, 4, 4, 2, 2, 0], [2, 3, 7, 7, 2, 2, 0], [2, 3, 8, 5, 3, 1, 1], [1, 2, 9, 9, 3, 2, 1],
        [3, 2, 6, 7, 4, 2, 2], [2, 1, 5, 5, 5, 1, 2], [1, 4, 3, 3, 3, 3, 0], [2, 2, 11, 6, 2, 1, 1],
        [2, 3, 32, 32, 2, 2, 0], [1, 2, 16, 48, 2, 2, 0],   // VGG-16's 2×2 pools on whole vectors of 16 (the vector path)
    ];

    private static IEnumerable<TestCaseData> Geometries()
    {
        foreach (var c in Cases)
            yield return new TestCaseData(Pool2dGeometry.Create(new Shape(c[0], c[1], c[2], c[3]), c[4], c[5], c[6]))
                .SetArgDisplayNames($"N{c[0]}C{c[1]}{c[2]}x{c[3]}k{c[4]}s{c[5]}p{c[6]}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void AvgPoolForwardAndBackwardMatchReference(Pool2dGeometry g)
    {
        var rng = new Random(g.H * 100 + g.W);
        var x = Uniform(rng, g.InputShape.Numel); var r = Uniform(rng, g.OutputShape.Numel);
        double[] rd = D(r);
        foreach (int threads in new[] { 1, 2 })
        {
            using var tx = T(x, g.N, g.C, g.H, g.W); using var ty = T(new float[r.Length], g.N, g.C, g.OutH, g.OutW);
            using var tr = T(r, g.N, g.C, g.OutH, g.OutW);
            using var tdx = T(Enumerable.Repeat(float.NaN, x.Length).ToArray(), g.N, g.C, g.H, g.W);
            var be = Cpu(threads);
            be.AvgPool2dForward(tx, ty, g);
            AssertClose(ty.Span, ReferenceOps.AvgPool2d(D(x), g), 1e-5, 1e-6, "avgpool y");
            be.AvgPool2dBackward(tr, tdx, g);
            AssertClose(tdx.Span, FiniteDifference(xs => Dot(rd, ReferenceOps.AvgPool2d(xs, g)), D(x), 1e-3), 1e-5, 1e-6, "avgpool dx");
        }
    }

    /// <summary>The vector path of 2×2, stride-2 pools sums each window in the scalar loop's order: bit for bit its result.</summary>
    [Test]
    public void TwoByTwoPoolSumsInTheScalarOrder()
    {
        var g = Pool2dGeometry.Create(new Shape(2, 3, 8, 32), 2, 2, 0);
        var rng = new Random(3);
        var x = Uniform(rng, g.InputShape.Numel);
        using var tx = T(x, g.N, g.C, g.H, g.W); using var ty = T(new float[g.OutputShape.Numel], g.N, g.C, g.OutH, g.OutW);
        Cpu(2).AvgPool2dForward(tx, ty, g);
        var y = ty.ToArray();
        for (int nc = 0; nc < g.N * g.C; nc++)
            for (int i = 0; i < g.OutH; i++)
                for (int j = 0; j < g.OutW; j++)
                {
                    int at = nc * g.H * g.W + 2 * i * g.W + 2 * j;
                    float s = 0;
                    s += x[at]; s += x[at + 1]; s += x[at + g.W]; s += x[at + g.W + 1];
                    Assert.That(y[(nc * g.OutH + i) * g.OutW + j], Is.EqualTo(s * 0.25f), $"plane {nc}, ({i}, {j})");
                }
    }

    [Test]
    public void PaddingCountsInTheDivisor()
    {
        // A 2×2 input of ones, kernel 3, stride 1, padding 1: the corner window holds 4 ones out of 9 cells.
        var g = Pool2dGeometry.Create(new Shape(1, 1, 2, 2), 3, 1, 1);
        using var x = T([1f, 1f, 1f, 1f], 1, 1, 2, 2); using var y = T(new float[4], 1, 1, 2, 2);
        Cpu(1).AvgPool2dForward(x, y, g);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 4f / 9, 4f / 9, 4f / 9, 4f / 9 }).Within(1e-6));
    }

    [TestCase(1, 1, 1, 1)]
    [TestCase(2, 3, 4, 4)]
    [TestCase(3, 5, 7, 3)]
    [TestCase(64, 40, 8, 8)]
    public void GlobalAvgPoolMatchesReference(int n, int c, int h, int w)
    {
        var rng = new Random(n + c + h);
        var x = Uniform(rng, n * c * h * w); var r = Uniform(rng, n * c);
        double[] rd = D(r);
        using var tx = T(x, n, c, h, w); using var ty = T(new float[n * c], n, c); using var tr = T(r, n, c);
        using var tdx = T(new float[x.Length], n, c, h, w);
        var be = Cpu(2);
        be.GlobalAvgPoolForward(tx, ty);
        AssertClose(ty.Span, ReferenceOps.GlobalAvgPool(D(x), n * c, h * w), 1e-5, 1e-6, "gap y");
        be.GlobalAvgPoolBackward(tr, tdx);
        AssertClose(tdx.Span, FiniteDifference(xs => Dot(rd, ReferenceOps.GlobalAvgPool(xs, n * c, h * w)), D(x), 1e-3), 1e-5, 1e-6, "gap dx");
    }
}
