using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class ElementwiseAndOptimTests
{
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(33)]
    [TestCase(100_003)]
    public void ElementwiseOpsMatchLoops(int n)
    {
        var rng = new Random(n);
        var a = Uniform(rng, n); var b = Uniform(rng, n);
        foreach (int threads in new[] { 1, 2 })
        {
            var be = Cpu(threads);
            using var ta = T(a, n); using var tb = T(b, n); using var ty = T(new float[n], n);
            be.Add(ta, tb, ty);
            Assert.That(ty.ToArray(), Is.EqualTo(a.Select((v, i) => v + b[i]).ToArray()), "add");
            be.Mul(ta, tb, ty);
            Assert.That(ty.ToArray(), Is.EqualTo(a.Select((v, i) => v * b[i]).ToArray()), "mul");
            be.Scale(ta, -2.5f, ty);
            Assert.That(ty.ToArray(), Is.EqualTo(a.Select(v => v * -2.5f).ToArray()), "scale");
            be.Copy(tb, ty);
            be.Axpy(0.75f, ta, ty);
            AssertClose(ty.Span, a.Select((v, i) => b[i] + 0.75 * v).ToArray(), 1e-6, 1e-7, "axpy");
            Assert.That(be.Sum(ta), Is.EqualTo(a.Sum(v => (double)v)).Within(1e-9 * n + 1e-6), "sum");
            // In place: y aliases an input.
            be.Add(ta, ty, ty);
            AssertClose(ty.Span, a.Select((v, i) => b[i] + 0.75 * v + v).ToArray(), 1e-6, 1e-6, "add in place");
        }
    }

    [Test]
    public void SgdMatchesPyTorchRuleOverSeveralSteps()
    {
        var rng = new Random(8);
        int n = 70_001;
        var p = Uniform(rng, n); var buf = new float[n];
        float lr = 0.05f, mu = 0.9f, wd = 5e-4f;
        var ep = D(p); var eb = new double[n];
        using var tp = T((float[])p.Clone(), n); using var tbuf = T(buf, n);
        for (int step = 0; step < 3; step++)
        {
            var g = Uniform(rng, n);
            using var tg = T(g, n);
            Cpu(2).SgdUpdate(tp, tg, tbuf, lr, mu, wd, firstStep: step == 0);
            for (int i = 0; i < n; i++)
            {
                double d = g[i] + wd * ep[i];
                eb[i] = step == 0 ? d : mu * eb[i] + d;
                ep[i] -= lr * eb[i];
            }
            AssertClose(tp.Span, ep, 1e-5, 1e-6, $"param after step {step}");
            AssertClose(tbuf.Span, eb, 1e-5, 1e-6, $"momentum buffer after step {step}");
        }
    }
}
