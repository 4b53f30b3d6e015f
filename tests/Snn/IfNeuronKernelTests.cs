namespace SpikeEngine.Tests.Snn;

/// <summary>The IF + COS kernels (engine/METHOD.md §3–4) against a plain scalar loop and hand-built cases.</summary>
public class IfNeuronKernelTests
{
    /// <summary>The obviously-right loop, one neuron at a time, written straight from engine/METHOD.md.</summary>
    internal static (float[] Output, float[] V0) Reference(float[] z, int steps, float theta, int rho, int k)
    {
        int neurons = z.Length / steps;
        var output = new float[z.Length];
        var v0s = new float[neurons];
        for (int j = 0; j < neurons; j++)
        {
            float v0 = 0.5f;
            if (rho > 0)
                for (int it = 0; it < k; it++)
                {
                    float v = v0, uMin = float.MaxValue, wMax = -1000f;
                    int n = 0;
                    for (int t = 0; t < rho; t++)
                    {
                        v += z[t * neurons + j] / theta;
                        if (v >= 1f) { n++; if (v < uMin) uMin = v; v -= 1f; }
                        else if (v > wMax) wMax = v;
                    }
                    if (v < 0f && n > 0) v0 -= Math.Max(1f, uMin - 0.999f);
                    else if (v >= 1f) v0 += Math.Max(1f, 1.001f - wMax);
                }
            v0s[j] = v0;
            float m = v0;
            for (int t = 0; t < steps; t++)
            {
                m += z[t * neurons + j] / theta;
                if (m >= 1f) { output[t * neurons + j] = theta; m -= 1f; }
                else output[t * neurons + j] = 0f;
            }
        }
        return (output, v0s);
    }

    private static (float[] Output, float[] V0) Run(float[] z, int steps, float theta, int rho, int k = 1, int threads = 2)
    {
        var backend = Backends.Cpu;
        int saved = backend.Threads;
        backend.Threads = threads;
        try
        {
            using var x = Tensor.FromArray(z, new Shape(z.Length));
            using var y = Tensor.Full(new Shape(z.Length), float.NaN);
            using var v0 = Tensor.Zeros(new Shape(z.Length / steps));
            backend.IfNeuronForward(x, steps, theta, rho, k, y, v0);
            return (y.ToArray(), v0.ToArray());
        }
        finally { backend.Threads = saved; }
    }

    /// <summary>One neuron: z over time in units of θ = 1.</summary>
    private static (float[] Output, float V0) One(float[] z, int rho, int k = 1)
    {
        var (o, v0) = Run(z, z.Length, 1f, rho, k);
        return (o, v0[0]);
    }

    [Test]
    public void OneSpikeTooManyShiftsDownByExactlyMaxOfOneAndUMinMinus0999()
    {
        // Pre-simulation: v = 0.5+2.6 = 3.1 spikes (u_min = 3.1) → 2.1; then −2.2 → −0.1 < 0 with n = 1.
        var (o, v0) = One([2.6f, -2.2f], rho: 2);
        float uMin = 0.5f + 2.6f;
        Assert.That(v0, Is.EqualTo(0.5f - MathF.Max(1f, uMin - 0.999f)));
        Assert.That(uMin - 0.999f, Is.GreaterThan(1f), "the case must exercise the u_min branch of the max");
        Assert.That(o, Is.EqualTo(Reference([2.6f, -2.2f], 2, 1f, 2, 1).Output));

        // u_min − 0.999 < 1: the shift is exactly 1 and the extra spike disappears.
        var (o2, v02) = One([1.2f, -0.8f], rho: 2);
        Assert.That(v02, Is.EqualTo(-0.5f));
        Assert.That(o2, Is.EqualTo(new[] { 0f, 0f }));
    }

    [Test]
    public void OneSpikeTooFewShiftsUpByExactlyMaxOfOneAnd1001MinusWMax()
    {
        // −1.0 → v = −0.5 (w_max = −0.5); +2.8 → 2.3 spikes → 1.3 ≥ 1.
        var (o, v0) = One([-1.0f, 2.8f], rho: 2);
        float wMax = 0.5f + -1.0f;
        Assert.That(v0, Is.EqualTo(0.5f + MathF.Max(1f, 1.001f - wMax)));
        Assert.That(o, Is.EqualTo(new[] { 1f, 1f }), "the shifted neuron now fires at both steps");

        // 1.001 − w_max < 1: shift by exactly 1.
        var (_, v02) = One([0.2f, 1.4f], rho: 2);
        Assert.That(v02, Is.EqualTo(1.5f));
    }

    [Test]
    public void SaturatedNeuronUsesWMaxOfMinus1000()
    {
        var (o, v0) = One([2f, 2f], rho: 2);
        Assert.That(v0, Is.EqualTo(0.5f + MathF.Max(1f, 1.001f - -1000f)));
        Assert.That(o, Is.EqualTo(new[] { 1f, 1f }));
    }

    [Test]
    public void NeverFiringNeuronIsNotShifted()
    {
        var (o, v0) = One([-1f, -1f, 0.3f], rho: 3);
        Assert.That(v0, Is.EqualTo(0.5f));
        Assert.That(o, Is.EqualTo(new[] { 0f, 0f, 0f }));
    }

    [Test]
    public void RhoZeroIsPlainConversionFromHalf()
    {
        // 0.5 + 0.5 = 1 fires (≥, not >); then 0 + 0.99 stays below.
        var (o, v0) = One([0.5f, 0.99f, 0.02f], rho: 0);
        Assert.That(v0, Is.EqualTo(0.5f));
        Assert.That(o, Is.EqualTo(new[] { 1f, 0f, 1f }));
    }

    [Test]
    public void OutputIsThetaTimesSpikeAndInputIsDividedByTheta()
    {
        // θ = 3: z = 1.5 is I = 0.5, so v = 1 at the first step.
        var (o, _) = Run([1.5f, 1.4f, 1.6f], 3, 3f, 0);
        Assert.That(o, Is.EqualTo(new[] { 3f, 0f, 3f }));
    }

    [Test]
    public void PresimulationLongerThanTheRestIsAllowedAndUsesOnlyRhoSteps()
    {
        // ρ = 3 of 4 steps: the fourth input must not influence v₀.
        var a = One([2.6f, -2.2f, 0.1f, 5f], rho: 3);
        var b = One([2.6f, -2.2f, 0.1f, -5f], rho: 3);
        Assert.That(a.V0, Is.EqualTo(b.V0));
        Assert.That(() => Run([1f, 1f], 2, 1f, 3), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("presimSteps"));
    }

    [Test]
    public void SecondIterationShiftsAgainFromTheFirstV0()
    {
        // Two spikes too many: the first shift (exactly 1) leaves one too many; k = 2 removes it too.
        float[] z = [1.2f, 1.2f, -1.9f, -1.9f];
        var k1 = One(z, rho: 4, k: 1);
        var k2 = One(z, rho: 4, k: 2);
        Assert.That(k1.V0, Is.EqualTo(-0.5f));
        Assert.That(k2.V0, Is.EqualTo(-1.5f));
        Assert.That(k2, Is.EqualTo(OneRef(z, 4, 2)));
    }

    private static (float[], float) OneRef(float[] z, int rho, int k)
    {
        var (o, v0) = Reference(z, z.Length, 1f, rho, k);
        return (o, v0[0]);
    }

    [TestCase(1, 1, 0, 1, 1)]
    [TestCase(37, 4, 4, 1, 1)]       // tail only
    [TestCase(16 * 64 + 5, 8, 4, 1, 2)]  // vector lanes + tail, two chunks
    [TestCase(5000, 8, 1, 1, 2)]
    [TestCase(3000, 6, 6, 3, 2)]
    [TestCase(3000, 5, 2, 2, 1)]
    public void RandomTrainsMatchTheScalarLoopExactly(int neurons, int steps, int rho, int k, int threads)
    {
        var rng = new Random(neurons * 31 + steps * 7 + rho);
        var z = new float[neurons * steps];
        // Mix of currents below, around and above threshold, plus values on exact multiples of 1/4 (ties at v = 1).
        for (int i = 0; i < z.Length; i++)
            z[i] = rng.Next(4) == 0 ? rng.Next(-4, 9) * 0.25f * 1.7f : (float)(rng.NextDouble() * 3.0 - 0.8) * 1.7f;
        var (expected, expectedV0) = Reference(z, steps, 1.7f, rho, k);
        var (actual, actualV0) = Run(z, steps, 1.7f, rho, k, threads);
        Assert.That(actualV0, Is.EqualTo(expectedV0));
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(expected.Count(v => v != 0), Is.GreaterThan(0));
    }

    [Test]
    public void StreamingStepsGiveTheSameSpikesAsMultiStepWithRhoZero()
    {
        const int neurons = 1000, steps = 6;
        var rng = new Random(5);
        var z = new float[neurons * steps];
        for (int i = 0; i < z.Length; i++) z[i] = (float)(rng.NextDouble() * 2.5 - 0.5);
        var (expected, _) = Run(z, steps, 1.3f, 0);
        var backend = Backends.Cpu;
        using var membrane = Tensor.Full(new Shape(neurons), 0.5f);
        using var input = Tensor.Zeros(new Shape(neurons));
        using var output = Tensor.Zeros(new Shape(neurons));
        for (int t = 0; t < steps; t++)
        {
            z.AsSpan(t * neurons, neurons).CopyTo(input.Span);
            backend.IfNeuronStep(input, 1.3f, membrane, output);
            Assert.That(output.ToArray(), Is.EqualTo(expected.AsSpan(t * neurons, neurons).ToArray()), $"step {t + 1}");
        }
    }

    [Test]
    public void BadArgumentsGiveClearErrors()
    {
        using var x = Tensor.Zeros(new Shape(6));
        using var y = Tensor.Zeros(new Shape(6));
        var b = Backends.Cpu;
        Assert.That(() => b.IfNeuronForward(x, 0, 1f, 0, 1, y, null), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("steps"));
        Assert.That(() => b.IfNeuronForward(x, 4, 1f, 0, 1, y, null), Throws.ArgumentException.With.Message.Contains("equal time steps"));
        Assert.That(() => b.IfNeuronForward(x, 2, 0f, 0, 1, y, null), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("θ"));
        Assert.That(() => b.IfNeuronForward(x, 2, 1f, -1, 1, y, null), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("presimSteps"));
        Assert.That(() => b.IfNeuronForward(x, 2, 1f, 1, 0, y, null), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("iterations"));
    }
}
