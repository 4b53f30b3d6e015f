using NUnit.Framework;
using SpikeEngine.Nn;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Snn;

public class DiagnosticsTests
{
    /// <summary>[Conv 1→2 3×3 pad 1, QCFS, Flatten, Linear(32, 3)] on 4×4 images, random weights.</summary>
    private static Sequential Tiny(int seed)
    {
        var conv = new Conv2d(1, 2, 3, 1, 1);
        var q = new Qcfs(4, 1.2f);
        var fc = new Linear(32, 3);
        var rng = new Random(seed);
        foreach (var t in new[] { conv.Weight, conv.Bias!, fc.Weight, fc.Bias! })
            t.Backend.CopyFromHost(Enumerable.Range(0, t.Numel).Select(_ => (float)(rng.NextDouble() * 2 - 0.6)).ToArray(), t);
        return new Sequential(conv, q, new Flatten(), fc);
    }

    [Test]
    public void SynOpsAreSpikesTimesFanOutAndTheFirstLayerIsDense()
    {
        var snn = SpikingNetwork.Convert(Tiny(1));
        using var x = SnnTestModels.Images(5, 1, 4, 2);
        var recorder = new SpikeRecorder();
        snn.Simulate(x, new SimulationSettings(4, 2), recorder).Dispose();
        var r = recorder.Result();
        var layer = r.Layers.Single();
        Assert.That(layer.Name, Is.EqualTo("1"));
        Assert.That(layer.NeuronsPerImage, Is.EqualTo(32));
        var conv = r.Synapses.Single(s => s.Name == "0");
        var fc = r.Synapses.Single(s => s.Name == "3");
        Assert.That(conv.Dense, Is.True);
        Assert.That(conv.DenseMacsPerImage, Is.EqualTo(2 * 4 * 4 * 9));
        Assert.That(fc.Dense, Is.False);
        for (int t = 0; t < 4; t++)
            Assert.That(fc.SynOpsPerImagePerStep[t], Is.EqualTo(layer.SpikesPerStep[t] * 3).Within(1e-9), $"step {t + 1}");
        Assert.That(layer.SpikesPerStep.Sum(), Is.GreaterThan(0));
        Assert.That(r.AnnMacsPerImage, Is.EqualTo(288 + 32 * 3));
        Assert.That(r.SnnEnergyPicojoules, Is.EqualTo(r.SynOpsPerStep.Sum() * 0.9 + 4 * 288 * 4.6).Within(1e-6));
        Assert.That(r.AnnEnergyPicojoules, Is.EqualTo(384 * 4.6).Within(1e-9));
        Assert.That(r.ToTable(), Does.Contain("0.9 pJ/AC"));
        Assert.That(r.ToJson(), Does.Contain("\"offset_histogram\""));
    }

    [Test]
    public void ConvFanOutCountsTheOutputsEachInputFeedsAtBorders()
    {
        var ctx = new SimulationContext();
        using var x = Tensor.Zeros(new Shape(1, 1, 4, 4));
        var same = new SynapseCounter("c", new Conv2d(1, 2, 3, 1, 1), ctx);
        Assert.That(same.FanOut(x), Is.EqualTo(new[] { 8, 12, 12, 8, 12, 18, 18, 12, 12, 18, 18, 12, 8, 12, 12, 8 }));
        var strided = new SynapseCounter("s", new Conv2d(1, 1, 3, 2, 1), ctx);
        // Output rows 0 and 1 cover input rows {0,1} and {1,2,3}: reach per row = 1,2,1,1.
        int[] reach = [1, 2, 1, 1];
        Assert.That(strided.FanOut(x), Is.EqualTo(Enumerable.Range(0, 16).Select(i => reach[i / 4] * reach[i % 4]).ToArray()));
    }

    [Test]
    public void OffsetSpikeIsSpikeCountMinusRoundedMeanInputPerNeuron()
    {
        // One IF neuron per image behind a 1×1 conv with weight 1: the neuron's input is the image itself.
        var conv = new Conv2d(1, 1, 1, 1, 0, bias: false);
        conv.Weight.Backend.Fill(conv.Weight, 1f);
        var snn = SpikingNetwork.Convert(new Sequential(conv, new Qcfs(4, 1f), new Flatten(), new Linear(1, 1)));
        // Constant input 0.3 for T = 4: plain IF from 0.5 fires at t = 2 and t = 4... count 1 or 2 vs floor(1.2 + 0.5) = 1.
        using var x = Tensor.FromArray([0.3f, 0.55f, -1f, 2f], new Shape(4, 1, 1, 1));
        var recorder = new SpikeRecorder();
        snn.Simulate(x, new SimulationSettings(4), recorder).Dispose();
        var h = recorder.Result().Layers.Single().OffsetHistogram;
        // Spike counts: 0.3 → v: 0.8, 1.1*, 0.4, 0.7 → 1 (expected floor(1.7)=1, ψ 0);
        // 0.55 → 1.05*, 0.6, 1.15*, 0.7 → 2 (expected floor(2.7)=2, ψ 0); −1 → 0 (ψ 0); 2 → 4 spikes, clamp → 4 (ψ 0).
        Assert.That(h, Is.EquivalentTo(new Dictionary<int, long> { [0] = 4 }));
    }
}
