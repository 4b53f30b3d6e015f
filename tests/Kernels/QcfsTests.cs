using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class QcfsTests
{
    /// <summary>Runs forward and backward (dy = 1 per element unless given) for a list of inputs.</summary>
    private static (float[] Y, float[] Dx, float DLambda) Run(float[] x, float lambda, int levels, float[]? dy = null, int threads = 1)
    {
        using var tx = T(x, x.Length); using var tl = T([lambda], 1);
        using var ty = T(new float[x.Length], x.Length); using var tdx = T(new float[x.Length], x.Length);
        using var tdy = T(dy ?? Enumerable.Repeat(1f, x.Length).ToArray(), x.Length); using var tdl = T([float.NaN], 1);
        var be = Cpu(threads);
        be.QcfsForward(tx, tl, levels, ty);
        be.QcfsBackward(tdy, tx, tl, levels, tdx, tdl);
        return (ty.ToArray(), tdx.ToArray(), tdl.Item());
    }

    // λ and L whose step λ/L is a power of two keep x·L/λ exact, so the boundaries are hit exactly.
    [TestCase(8f, 4)]
    [TestCase(1f, 8)]
    [TestCase(4f, 1)]
    [TestCase(2f, 16)]
    public void ForwardAtQuantisationBoundariesAndClampEdges(float lambda, int levels)
    {
        float step = lambda / levels;
        for (int k = 0; k < levels; k++)
        {
            float boundary = (k + 0.5f) * step;
            // Exactly on the boundary x·L/λ + 1/2 is the integer k + 1: floor rounds up.
            Assert.That(Run([boundary], lambda, levels).Y[0], Is.EqualTo((k + 1) * step), $"x = (k+1/2)·λ/L, k={k}");
            // x·L/λ = k + 1/2 − 2⁻²⁰: representable, and still below after adding 1/2 in float32.
            float below = (k + 0.5f - 1f / (1 << 20)) * step;
            Assert.That(Run([below], lambda, levels).Y[0], Is.EqualTo(k * step), $"just below the boundary, k={k}");
            Assert.That(Run([k * step], lambda, levels).Y[0], Is.EqualTo(k * step), $"x on level k={k}");
        }
        Assert.That(Run([0f], lambda, levels).Y[0], Is.EqualTo(0f), "x = 0");
        Assert.That(Run([lambda], lambda, levels).Y[0], Is.EqualTo(lambda), "x = λ");
        Assert.That(Run([-3f * lambda], lambda, levels).Y[0], Is.EqualTo(0f), "x < 0 clamps to 0");
        Assert.That(Run([5f * lambda], lambda, levels).Y[0], Is.EqualTo(lambda), "x > λ clamps to λ");
        Assert.That(Run([-0.5f * step], lambda, levels).Y[0], Is.EqualTo(0f), "x = −λ/(2L)");
    }

    [TestCase(8f, 4)]
    [TestCase(1f, 8)]
    [TestCase(4f, 1)]
    public void GradientsAtClampEdgesFollowTheInclusiveRule(float lambda, int levels)
    {
        float step = lambda / levels;
        // (x, expected dx, expected dλ per unit dy) from engine/METHOD.md §1: dx = [0 ≤ q ≤ 1]; dλ = clamp(q,0,1) − (x/λ)·[0 ≤ q ≤ 1].
        var cases = new (float X, float Dx, float Dl, string What)[]
        {
            (0f, 1f, 0f, "x = 0: q = 0 is inside"),
            (lambda, 1f, 0f, "x = λ: q = 1 is inside"),
            (-0.5f * step, 1f, 0.5f / levels, "x = −λ/(2L): q = 0 still inside"),
            (MathF.BitDecrement(-0.5f * step), 0f, 0f, "just below −λ/(2L): q = −1/L outside"),
            (-2f * lambda, 0f, 0f, "x < 0 far: outside, clamp 0"),
            (lambda + 0.25f * step, 1f, 1f - (lambda + 0.25f * step) / lambda, "x slightly above λ: q = 1 still inside"),
            (lambda + 0.5f * step, 0f, 1f, "x = λ + λ/(2L): q = 1 + 1/L outside, clamp 1"),
            (3f * lambda, 0f, 1f, "x > λ far: outside, clamp 1"),
        };
        if (levels >= 2) cases = [.. cases, (1.5f * step, 1f, 2f / levels - 1.5f / levels, "x on a rounding boundary inside")];
        foreach (var c in cases)
        {
            var (_, dx, dl) = Run([c.X], lambda, levels);
            Assert.That(dx[0], Is.EqualTo(c.Dx), $"dx, {c.What}");
            Assert.That(dl, Is.EqualTo(c.Dl).Within(1e-6), $"dλ, {c.What}");
        }
    }

    [TestCase(8f, 4)]
    [TestCase(3f, 3)]
    [TestCase(0.7f, 16)]
    [TestCase(5f, 1)]
    public void ForwardMatchesReferenceOnRandomInputs(float lambda, int levels)
    {
        var rng = new Random(levels);
        var x = Uniform(rng, 70001, -0.5f * lambda, 1.5f * lambda);
        foreach (int threads in new[] { 1, 2 })
        {
            var (y, _, _) = Run(x, lambda, levels, threads: threads);
            AssertClose(y, x.Select(v => ReferenceOps.Qcfs(v, lambda, levels)).ToArray(), 1e-6, 1e-6, "qcfs y");
        }
    }

    /// <summary>
    /// Finite differences of the straight-through surrogate: around each base point the floor is replaced by
    /// floor(u₀) + (u − u₀) (its value at the base, slope 1), as the STE assumes; points near a rounding
    /// boundary or a clamp edge are avoided. Checks dx per element and the summed dλ.
    /// </summary>
    [TestCase(8f, 4)]
    [TestCase(2.5f, 8)]
    [TestCase(1f, 2)]
    public void GradientsMatchFiniteDifferencesOfTheStraightThroughSurrogate(float lambda, int levels)
    {
        var rng = new Random(17 + levels);
        var xs = new List<float>();
        while (xs.Count < 400)
        {
            float v = (float)(rng.NextDouble() * 1.6 - 0.3) * lambda;
            double u = v * levels / (double)lambda + 0.5, frac = u - Math.Floor(u);
            if (frac < 0.02 || frac > 0.98) continue;
            xs.Add(v);
        }
        var x = xs.ToArray();
        var dy = Uniform(rng, x.Length);
        double Surrogate(double xv, double lam, float x0, double lam0)
        {
            double u0 = x0 * levels / lam0 + 0.5, u = xv * levels / lam + 0.5;
            double q = (Math.Floor(u0) + (u - u0)) / levels;
            bool inside = Math.Floor(u0) >= 0 && Math.Floor(u0) <= levels;
            return lam * (inside ? q : Math.Clamp(Math.Floor(u0) / levels, 0, 1));
        }
        const double h = 1e-4;
        double dLambda = 0;
        var dxExpected = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            dLambda += dy[i] * (Surrogate(x[i], lambda + h, x[i], lambda) - Surrogate(x[i], lambda - h, x[i], lambda)) / (2 * h);
            dxExpected[i] = dy[i] * (Surrogate(x[i] + h, lambda, x[i], lambda) - Surrogate(x[i] - h, lambda, x[i], lambda)) / (2 * h);
        }
        var (_, dx, dl) = Run(x, lambda, levels, dy);
        AssertClose(dx, dxExpected, 1e-5, 1e-6, "qcfs dx");
        AssertClose([dl], [dLambda], 1e-4, 1e-4, "qcfs dλ");
    }

    [TestCase(8f, 4)]
    [TestCase(1f, 8)]
    [TestCase(3f, 3)]
    public void VectorAndScalarPathsAgreeBitwise(float lambda, int levels)
    {
        // Boundaries, clamp edges and random values in one long tensor (vector path) versus one element at a time (scalar tail).
        float step = lambda / levels;
        var xs = new List<float> { 0f, lambda, -0.5f * step, MathF.BitDecrement(-0.5f * step), lambda + 0.5f * step, MathF.BitDecrement(lambda + 0.5f * step) };
        for (int k = -2; k <= levels + 2; k++) xs.AddRange([(k + 0.5f) * step, MathF.BitDecrement((k + 0.5f) * step), MathF.BitIncrement((k + 0.5f) * step), k * step]);
        xs.AddRange(Uniform(new Random(5), 64, -lambda, 2 * lambda));
        var x = xs.ToArray();
        var (y, dx, _) = Run(x, lambda, levels);
        for (int i = 0; i < x.Length; i++)
        {
            var (y1, dx1, _) = Run([x[i]], lambda, levels);
            Assert.That(y[i], Is.EqualTo(y1[0]), $"y at x = {x[i]:R}");
            Assert.That(dx[i], Is.EqualTo(dx1[0]), $"dx at x = {x[i]:R}");
        }
    }

    [Test]
    public void LambdaGradientIsTheSameWithOneOrTwoThreads()
    {
        var rng = new Random(9);
        var x = Uniform(rng, 200003, -4f, 12f); var dy = Uniform(rng, x.Length);
        Assert.That(Run(x, 8f, 4, dy, threads: 2).DLambda, Is.EqualTo(Run(x, 8f, 4, dy, threads: 1).DLambda));
    }
}
