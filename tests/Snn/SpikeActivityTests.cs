namespace SpikeEngine.Tests.Snn;

/// <summary>
/// <see cref="SpikeActivity"/>: what a run of T = t costs, read off a longer run. Checked against separate runs of the
/// shorter T (whose recorders count only what those runs process) and against the energy formula.
/// </summary>
public class SpikeActivityTests
{
    private static SpikeActivity Record(SpikingNetwork snn, Tensor images, SimulationSettings settings)
    {
        var recorder = new SpikeRecorder();
        snn.Simulate(images, settings, recorder).Dispose();
        return SpikeActivity.From(recorder.Result());
    }

    [TestCase(0)]
    [TestCase(4)]
    public void ALongRunAnswersEveryShorterRun(int presim)
    {
        var snn = SpikingNetwork.Convert(DiagnosticsTests.Tiny(3));
        using var x = SnnTestModels.Images(6, 1, 4, 5);
        var longRun = Record(snn, x, new SimulationSettings(8, presim));
        Assert.That(longRun.SynOpsAt(8), Is.GreaterThan(0));
        foreach (int t in new[] { 1, 2, 3, 8 })
        {
            var shortRun = Record(snn, x, new SimulationSettings(t, presim));
            Assert.That(longRun.FiringRateAt(t), Is.EqualTo(shortRun.FiringRateAt(t)).Within(1e-12), $"firing rate, t = {t}");
            Assert.That(longRun.SynOpsAt(t), Is.EqualTo(shortRun.SynOpsAt(t)).Within(1e-9), $"SynOps, t = {t}");
            Assert.That(longRun.EnergyJoulesAt(t), Is.EqualTo(shortRun.EnergyJoulesAt(t)).Within(1e-21), $"energy, t = {t}");
            // The conv before the IF layer sees the image: 288 MACs per processed step, max(ρ, t) of them.
            double expected = (longRun.SynOpsAt(t) * 0.9 + Math.Max(presim, t) * 288 * 4.6) * 1e-12;
            Assert.That(longRun.EnergyJoulesAt(t), Is.EqualTo(expected).Within(1e-21), $"energy formula, t = {t}");
            Assert.That(longRun.EnergyVsAnnAt(t), Is.EqualTo(expected / (384 * 4.6e-12)).Within(1e-12));
        }
        // With ρ = 4 a run of T ≤ 4 processes 4 steps: its SynOps do not shrink below those of 4 steps.
        if (presim == 4) Assert.That(longRun.SynOpsAt(1), Is.EqualTo(longRun.SynOpsAt(4)));
        else Assert.That(longRun.SynOpsAt(1), Is.LessThan(longRun.SynOpsAt(8)));
    }

    [Test]
    public void FiringRateAtTIsTheLayersSpikesPerNeuronPerStep()
    {
        var snn = SpikingNetwork.Convert(DiagnosticsTests.Tiny(4));
        using var x = SnnTestModels.Images(3, 1, 4, 6);
        var recorder = new SpikeRecorder();
        snn.Simulate(x, new SimulationSettings(5, 2), recorder).Dispose();
        var stats = recorder.Result();
        var activity = SpikeActivity.From(stats);
        var layer = stats.Layers.Single();
        Assert.That(activity.FiringRateAt(5), Is.EqualTo(layer.FiringRate).Within(1e-12));
        Assert.That(activity.FiringRateAt(2), Is.EqualTo((layer.SpikesPerStep[0] + layer.SpikesPerStep[1]) / (2.0 * layer.NeuronsPerImage)).Within(1e-12));
        Assert.That(activity.SynOpsAt(5), Is.EqualTo(stats.SynOpsPerStep.Sum()).Within(1e-9), "ρ ≤ T: the diagnostics' SynOps");
        Assert.That(activity.Layers.Single().FiringRate, Is.EqualTo(layer.FiringRate));
        Assert.That(() => activity.SynOpsAt(6), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
