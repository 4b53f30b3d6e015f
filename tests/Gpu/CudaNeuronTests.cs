using SpikeEngine.Tests.Snn;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// The fused IF + COS kernel and the streaming step: spike trains must equal, exactly, both a plain
/// loop written from engine/METHOD.md §3–4 (IfNeuronKernelTests.Reference) and the CPU backend.
/// </summary>
public class CudaNeuronTests : GpuTestBase
{
    public static IEnumerable<TestCaseData> Runs()
    {
        // steps, batch·neurons, θ, ρ, iterations
        yield return new TestCaseData(4, 1000, 1.0f, 0, 1).SetName("IF plain conversion T=4");
        yield return new TestCaseData(4, 1000, 2.5f, 4, 1).SetName("IF COS rho=T=4");
        yield return new TestCaseData(8, 5000, 0.75f, 4, 1).SetName("IF COS rho=4 T=8");
        yield return new TestCaseData(2, 3000, 1.5f, 2, 1).SetName("IF COS rho=T=2");
        yield return new TestCaseData(8, 777, 3.0f, 8, 2).SetName("IF COS two iterations");
        yield return new TestCaseData(1, 100_000, 1.0f, 1, 1).SetName("IF COS T=1 many neurons");
    }

    [TestCaseSource(nameof(Runs))]
    public void FusedIfWithCosEqualsReferenceAndCpu(int steps, int neurons, float theta, int presim, int iterations)
    {
        var rng = new Random(steps * neurons + presim);
        // pre-activations spread so that every COS branch (too many, too few, neither) occurs
        var z = Random(rng, steps * neurons, -1.5f * theta, 2.0f * theta);
        var shape = new Shape(steps, neurons); // time-major [T·B, ...] flattened
        var (expected, expectedV0) = IfNeuronKernelTests.Reference(z, steps, theta, presim, iterations);
        var (x, gx) = Both(z, shape);
        using var gy = Cuda.Empty(shape);
        using var gv0 = Cuda.Empty(new Shape(neurons));
        Cuda.IfNeuronForward(gx, steps, theta, presim, iterations, gy, gv0);
        Assert.That(gy.ToArray(), Is.EqualTo(expected), "spike train vs the plain reference loop");
        Assert.That(gv0.ToArray(), Is.EqualTo(expectedV0), "initial potentials vs the reference loop");
        if (presim >= 2)
        {
            var v0 = gv0.ToArray();
            Assert.That(v0.Any(v => v < 0f), Is.True, "test data reaches the 'one spike too many' branch");
            Assert.That(v0.Any(v => v > 1f), Is.True, "test data reaches the 'one spike too few' branch");
            Assert.That(v0.Any(v => v == 0.5f), Is.True, "test data reaches the 'no shift' branch");
        }
        using var y = Cpu.Empty(shape);
        using var v0Cpu = Cpu.Empty(new Shape(neurons));
        Cpu.IfNeuronForward(x, steps, theta, presim, iterations, y, v0Cpu);
        AssertExact(y, gy, "spike train vs the CPU backend");
        AssertExact(v0Cpu, gv0, "initial potentials vs the CPU backend");
        using var gyNoV0 = Cuda.Empty(shape);
        Cuda.IfNeuronForward(gx, steps, theta, presim, iterations, gyNoV0, null);
        Assert.That(gyNoV0.ToArray(), Is.EqualTo(expected), "without initialPotential");
    }

    [Test]
    public void PresimulationLongerThanTheInputIsRejected()
    {
        using var x = Cuda.Zeros(new Shape(4, 10));
        using var y = Cuda.Empty(new Shape(4, 10));
        Assert.That(() => Cuda.IfNeuronForward(x, 4, 1f, 5, 1, y, null), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("presimSteps (ρ) must be in 0..steps (4)"));
    }

    [Test]
    public void StreamingStepEqualsThePlainMultiStepRunAndCpu()
    {
        const int steps = 6, neurons = 4099;
        const float theta = 1.25f;
        var rng = new Random(77);
        var z = Random(rng, steps * neurons, -1f, 2.5f);
        var (expected, _) = IfNeuronKernelTests.Reference(z, steps, theta, 0, 1);
        var initial = Enumerable.Repeat(0.5f, neurons).ToArray();
        var (membrane, gmembrane) = Both(initial, new Shape(neurons));
        using var gOut = Cuda.Empty(new Shape(neurons));
        using var cOut = Cpu.Empty(new Shape(neurons));
        for (int t = 0; t < steps; t++)
        {
            var slice = z.AsSpan(t * neurons, neurons).ToArray();
            var (x, gx) = Both(slice, new Shape(neurons));
            Cuda.IfNeuronStep(gx, theta, gmembrane, gOut);
            Assert.That(gOut.ToArray(), Is.EqualTo(expected.AsSpan(t * neurons, neurons).ToArray()), $"step {t + 1} vs reference");
            Cpu.IfNeuronStep(x, theta, membrane, cOut);
            AssertExact(cOut, gOut, $"step {t + 1} vs CPU");
            AssertExact(membrane, gmembrane, $"membrane after step {t + 1} vs CPU");
        }
    }
}
