using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class DropoutTests
{
    private static (float[] Y, float[] Mask) Run(float[] x, float p, ulong seed, int threads)
    {
        using var tx = T(x, x.Length); using var ty = T(new float[x.Length], x.Length); using var tm = T(new float[x.Length], x.Length);
        Cpu(threads).DropoutForward(tx, p, seed, ty, tm);
        return (ty.ToArray(), tm.ToArray());
    }

    [TestCase(0.1f)]
    [TestCase(0.5f)]
    [TestCase(0.8f)]
    public void MaskIsZeroOrInverseKeepAndKeepsAboutOneMinusP(float p)
    {
        var x = Uniform(new Random(1), 100_003);
        var (y, mask) = Run(x, p, 42, 2);
        float keep = 1f / (1f - p);
        int kept = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (!(mask[i] == 0f || mask[i] == keep)) Assert.Fail($"mask[{i}] = {mask[i]}, expected 0 or {keep}");
            if (y[i] != x[i] * mask[i]) Assert.Fail($"y[{i}] = {y[i]}, expected x·mask = {x[i] * mask[i]}");
            if (mask[i] != 0) kept++;
        }
        // Binomial: the kept fraction is within 5 standard deviations of 1 − p.
        double sd = Math.Sqrt(p * (1 - p) / x.Length);
        Assert.That((double)kept / x.Length, Is.EqualTo(1 - p).Within(5 * sd));
    }

    [Test]
    public void SameSeedSameMaskAtAnyThreadCountAndOtherSeedsDiffer()
    {
        var x = Uniform(new Random(2), 70_001);
        var a = Run(x, 0.3f, 7, 1).Mask;
        Assert.That(Run(x, 0.3f, 7, 2).Mask, Is.EqualTo(a));
        Assert.That(Run(x, 0.3f, 8, 2).Mask, Is.Not.EqualTo(a));
    }

    [Test]
    public void ZeroProbabilityIsIdentityAndOneDropsEverything()
    {
        var x = Uniform(new Random(3), 1001);
        var (y, mask) = Run(x, 0f, 5, 2);
        Assert.That(y, Is.EqualTo(x));
        Assert.That(mask, Is.All.EqualTo(1f));
        (y, mask) = Run(x, 1f, 5, 2);
        Assert.That(y, Is.All.EqualTo(0f));
        Assert.That(mask, Is.All.EqualTo(0f));
    }

    [TestCase(-0.1f)]
    [TestCase(1.5f)]
    [TestCase(float.NaN)]
    public void InvalidProbabilityIsRejected(float p)
        => Assert.That(() => Run([1f], p, 0, 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("dropout probability"));
}
