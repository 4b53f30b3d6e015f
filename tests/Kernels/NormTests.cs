using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class NormTests
{
    private const float Eps = 1e-5f, Momentum = 0.1f;

    private static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(new[] { 4, 3 }).SetArgDisplayNames("4x3");
        yield return new TestCaseData(new[] { 2, 1 }).SetArgDisplayNames("2x1");
        yield return new TestCaseData(new[] { 1, 3, 3, 5 }).SetArgDisplayNames("1x3x3x5");
        yield return new TestCaseData(new[] { 3, 4, 5, 5 }).SetArgDisplayNames("3x4x5x5");
        yield return new TestCaseData(new[] { 8, 5, 1, 1 }).SetArgDisplayNames("8x5x1x1");
        yield return new TestCaseData(new[] { 2, 6, 7, 3 }).SetArgDisplayNames("2x6x7x3");
    }

    private static (int N, int C, int Hw) Dims(int[] s) => (s[0], s[1], s.Length == 4 ? s[2] * s[3] : 1);

    [TestCaseSource(nameof(Shapes))]
    public void TrainingForwardUsesBatchStatisticsAndUpdatesRunningStats(int[] shape)
    {
        var (n, c, hw) = Dims(shape);
        var rng = new Random(shape.Sum());
        // Offset and scaled inputs: statistics must not come out of the unit range by accident.
        var x = Uniform(rng, n * c * hw, 1f, 4f);
        var gamma = Uniform(rng, c, 0.5f, 1.5f); var beta = Uniform(rng, c); var rm = Uniform(rng, c); var rv = Uniform(rng, c, 0.5f, 2f);
        using var tx = T(x, shape); using var tg = T(gamma, c); using var tb = T(beta, c);
        using var trm = T((float[])rm.Clone(), c); using var trv = T((float[])rv.Clone(), c);
        using var ty = T(new float[x.Length], shape); using var sm = T(new float[c], c); using var si = T(new float[c], c);
        Cpu(2).BatchNormForwardTraining(tx, tg, tb, trm, trv, Momentum, Eps, ty, sm, si);

        var (mean, var) = ReferenceOps.ChannelStats(D(x), n, c, hw);
        AssertClose(ty.Span, ReferenceOps.BatchNormTraining(D(x), D(gamma), D(beta), n, c, hw, Eps), 1e-4, 1e-5, "bn y");
        AssertClose(sm.Span, mean, 1e-5, 1e-6, "saved mean");
        AssertClose(si.Span, var.Select(v => 1 / Math.Sqrt(v + Eps)).ToArray(), 1e-4, 1e-6, "saved invstd");
        int count = n * hw;
        AssertClose(trm.Span, rm.Select((r, i) => (1 - Momentum) * (double)r + Momentum * mean[i]).ToArray(), 1e-5, 1e-6, "running mean");
        AssertClose(trv.Span, rv.Select((r, i) => (1 - Momentum) * (double)r + Momentum * var[i] * count / (count - 1)).ToArray(), 1e-5, 1e-6, "running var (unbiased)");
    }

    [Test]
    public void TrainingWithOneValuePerChannelIsRejected()
    {
        using var x = T(new float[3], 1, 3); using var p = T(new float[3], 3);
        using var q = T(new float[3], 3); using var y = T(new float[3], 1, 3);
        Assert.That(() => Cpu(1).BatchNormForwardTraining(x, p, p, q, q, 0.1f, 1e-5f, y, q, q),
            Throws.ArgumentException.With.Message.Contains("more than one value per channel"));
    }

    [TestCaseSource(nameof(Shapes))]
    public void InferenceUsesRunningStatistics(int[] shape)
    {
        var (n, c, hw) = Dims(shape);
        var rng = new Random(shape.Sum() + 7);
        var x = Uniform(rng, n * c * hw, -2f, 3f);
        var gamma = Uniform(rng, c, 0.5f, 1.5f); var beta = Uniform(rng, c); var rm = Uniform(rng, c); var rv = Uniform(rng, c, 0.5f, 2f);
        using var tx = T(x, shape); using var tg = T(gamma, c); using var tb = T(beta, c); using var trm = T(rm, c); using var trv = T(rv, c);
        using var ty = T(new float[x.Length], shape);
        Cpu(2).BatchNormForwardInference(tx, tg, tb, trm, trv, Eps, ty);
        AssertClose(ty.Span, ReferenceOps.Normalize(D(x), D(rm), D(rv), D(gamma), D(beta), n, c, hw, Eps), 1e-5, 1e-5, "bn inference");
        Assert.That(trm.ToArray(), Is.EqualTo(rm), "inference must not touch the running mean");
    }

    [TestCaseSource(nameof(Shapes))]
    public void BackwardMatchesFiniteDifferences(int[] shape)
    {
        var (n, c, hw) = Dims(shape);
        var rng = new Random(shape.Sum() + 13);
        var x = Uniform(rng, n * c * hw, -1f, 2f);
        var gamma = Uniform(rng, c, 0.5f, 1.5f); var beta = Uniform(rng, c); var r = Uniform(rng, x.Length);
        double[] xd = D(x), gd = D(gamma), bd = D(beta), rd = D(r);
        double Loss(double[] xs, double[] gs, double[] bs) => Dot(rd, ReferenceOps.BatchNormTraining(xs, gs, bs, n, c, hw, Eps));

        using var tx = T(x, shape); using var tg = T(gamma, c); using var tb = T(beta, c); using var tr = T(r, shape);
        using var rm = T(new float[c], c); using var rv = T(new float[c], c); using var y = T(new float[x.Length], shape);
        using var sm = T(new float[c], c); using var si = T(new float[c], c);
        using var dx = T(new float[x.Length], shape); using var dg = T(new float[c], c); using var db = T(new float[c], c);
        var be = Cpu(2);
        be.BatchNormForwardTraining(tx, tg, tb, rm, rv, Momentum, Eps, y, sm, si);
        be.BatchNormBackward(tr, tx, tg, sm, si, dx, dg, db);

        // Tiny batches (n·hw = 2) have huge normalised gradients; tolerances scale with the reference's magnitude.
        AssertClose(dx.Span, FiniteDifference(xs => Loss(xs, gd, bd), (double[])xd.Clone(), 1e-4), 2e-3, 2e-4, "bn dx");
        AssertClose(dg.Span, FiniteDifference(gs => Loss(xd, gs, bd), (double[])gd.Clone(), 1e-4), 1e-3, 1e-4, "bn dgamma");
        AssertClose(db.Span, FiniteDifference(bs => Loss(xd, gd, bs), (double[])bd.Clone(), 1e-4), 1e-3, 1e-4, "bn dbeta");
    }
}
