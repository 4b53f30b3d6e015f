using SpikeEngine.Backend.Cpu;

namespace SpikeEngine.Tests.Kernels;

/// <summary>Random data, float/double conversion, closeness checks and finite differences for the kernel tests.</summary>
internal static class KernelTestKit
{
    public static CpuBackend Cpu(int threads) => new() { Threads = threads };

    public static float[] Uniform(Random rng, int n, float lo = -1f, float hi = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (float)rng.NextDouble() * (hi - lo);
        return a;
    }

    public static double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);
    public static float[] F(double[] a) => Array.ConvertAll(a, v => (float)v);
    public static Tensor T(float[] data, params int[] dims) => Tensor.FromArray(data, new Shape(dims));

    /// <summary>Conv2dForward on 1 and 2 threads, with and without bias, against <see cref="ReferenceOps.Conv2d"/>.</summary>
    public static void AssertConvForwardMatchesReference(float[] x, float[] w, float[] b, Conv2dGeometry g, string what)
    {
        foreach (int threads in new[] { 1, 2 })
        foreach (bool withBias in new[] { false, true })
        {
            using var tx = T(x, g.N, g.C, g.H, g.W); using var tw = T(w, g.K, g.C, g.R, g.S); using var tb = T(b, g.K);
            using var ty = T(Enumerable.Repeat(float.NaN, g.OutputShape.Numel).ToArray(), g.N, g.K, g.OutH, g.OutW);
            Cpu(threads).Conv2dForward(tx, tw, withBias ? tb : null, ty, g);
            var expected = ReferenceOps.Conv2d(D(x), D(w), withBias ? D(b) : null, g);
            AssertClose(ty.Span, expected, 1e-4, 1e-5 * Math.Sqrt(g.C * g.R * g.S), $"{what} threads={threads} bias={withBias}");
        }
    }

    /// <summary>Conv2dBackwardData of <paramref name="dy"/> on a NaN-filled dx, on <paramref name="threads"/> threads.</summary>
    public static float[] ConvBackwardData(float[] dy, float[] w, Conv2dGeometry g, int threads)
    {
        using var tdy = T(dy, g.N, g.K, g.OutH, g.OutW); using var tw = T(w, g.K, g.C, g.R, g.S);
        using var tdx = T(Enumerable.Repeat(float.NaN, g.InputShape.Numel).ToArray(), g.N, g.C, g.H, g.W);
        Cpu(threads).Conv2dBackwardData(tdy, tw, tdx, g);
        return tdx.ToArray();
    }

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere, naming the first bad index.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, double[] expected, double rtol, double atol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]) && float.IsNaN(actual[i])) continue;
            double err = Math.Abs(actual[i] - expected[i]);
            double allowed = atol + rtol * Math.Abs(expected[i]);
            if (!(err <= allowed))
            {
                if (first < 0) first = i;
                bad++;
                worst = Math.Max(worst, double.IsNaN(err) ? double.PositiveInfinity : err);
            }
        }
        if (bad > 0)
            Assert.Fail($"{what}: {bad} of {expected.Length} elements differ; first at {first}: got {actual[first]}, expected {expected[first]} (worst error {worst}).");
    }

    public static void AssertClose(ReadOnlySpan<float> actual, double expected, double rtol, double atol, string what)
        => AssertClose(actual, [expected], rtol, atol, what);

    /// <summary>
    /// Central differences of f with respect to x. Every element is differenced when x has at most
    /// <paramref name="maxPoints"/> elements, otherwise an evenly spread sample (first and last included)
    /// keeps the cost linear. x is restored afterwards.
    /// </summary>
    public static NumericGradient FiniteDifference(Func<double[], double> f, double[] x, double h, int maxPoints = 300)
    {
        int count = Math.Min(x.Length, maxPoints);
        var indices = new int[count];
        for (int s = 0; s < count; s++) indices[s] = count == x.Length ? s : (int)((long)s * (x.Length - 1) / Math.Max(1, count - 1));
        var g = new double[count];
        for (int s = 0; s < count; s++)
        {
            int i = indices[s];
            double keep = x[i];
            x[i] = keep + h; double up = f(x);
            x[i] = keep - h; double down = f(x);
            x[i] = keep;
            g[s] = (up - down) / (2 * h);
        }
        return new NumericGradient(indices, g);
    }

    /// <summary>Compares the analytic gradient with the finite differences at the differenced indices.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, NumericGradient expected, double rtol, double atol, string what)
    {
        var picked = new float[expected.Indices.Length];
        for (int s = 0; s < picked.Length; s++) picked[s] = actual[expected.Indices[s]];
        AssertClose(picked, expected.Values, rtol, atol, $"{what} (at {picked.Length} of {actual.Length} elements)");
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}

/// <summary>Finite-difference derivatives at the listed indices of a tensor.</summary>
internal sealed record NumericGradient(int[] Indices, double[] Values);
