using NUnit.Framework;
using SpikeEngine.Nn;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Snn;

/// <summary>The converted network owns its layers: state dict, parameters and To() reach every Conv2d/Linear.</summary>
public class SpikingNetworkOwnershipTests
{
    [Test]
    public void StateDictHoldsTheFoldedAnnWeightsUnderTheAnnKeys()
    {
        var ann = SnnTestModels.Cnn(seed: 7);
        var folded = SnnConverter.FoldedAnn(ann).StateDict();
        var snn = SpikingNetwork.Convert(ann);
        var state = snn.StateDict();

        // The folded ANN minus the QCFS thresholds (θ = λ lives on the IF layers as a number).
        var expected = folded.Keys.Where(k => !k.EndsWith(".up")).ToList();
        Assert.That(state.Keys, Is.EqualTo(expected));
        Assert.That(state.Keys, Has.Some.EqualTo("layer1.0.weight"), "the keys are the ANN's, not a wrapper's");
        foreach (var key in expected)
            Assert.That(state[key].ToArray(), Is.EqualTo(folded[key].ToArray()), key);

        // Every synaptic layer's weight and bias, and nothing else, are parameters of the network.
        var synaptic = snn.Synapses.SelectMany(s => s.Layer.Parameters()).ToList();
        Assert.That(snn.Network.Parameters().ToList(), Is.EquivalentTo(synaptic));
        Assert.That(synaptic, Has.Count.EqualTo(2 * snn.Synapses.Count));
        Assert.That(snn.IfLayers.Select(l => l.Threshold), Is.EqualTo(ann.NamedModules().Where(m => m.Module is Qcfs).Select(m => ((Qcfs)m.Module).Up.Item())));
    }

    [Test]
    public void StateDictRoundTripsIntoAFreshConversion()
    {
        var a = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 1));
        var b = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 2));
        b.Network.LoadStateDict(a.StateDict());
        using var images = SnnTestModels.Images(3, 1, 28, 5);
        var settings = new SimulationSettings(4, 2);
        using var ya = a.Simulate(images, settings);
        using var yb = b.Simulate(images, settings);
        // Same weights; the thresholds still differ (seed 2's λ), so compare through a network with seed 1's λ too.
        var c = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 1));
        c.Network.LoadStateDict(b.StateDict());
        using var yc = c.Simulate(images, settings);
        Assert.That(yc.ToArray(), Is.EqualTo(ya.ToArray()), "weights loaded from another network give the same spikes");
    }

    [Test]
    public void ToCpuKeepsTheWeightsAndTheSpikeTrains()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 4));
        using var images = SnnTestModels.Images(2, 1, 28, 3);
        var settings = new SimulationSettings(3, 3);
        var before = snn.Simulate(images, settings).ToArray();
        var weights = snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        snn.To(Device.Cpu);
        Assert.That(snn.Network.Parameters().All(p => p.Device == Device.Cpu));
        Assert.That(snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), Is.EqualTo(weights));
        Assert.That(snn.Simulate(images, settings).ToArray(), Is.EqualTo(before));
    }

    [Test]
    public void AStreamingStepLeavesNoRecorderOrSettingsBehind()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 6));
        using var images = SnnTestModels.Images(2, 1, 28, 8);
        var settings = new SimulationSettings(2, 2);
        var first = snn.Simulate(images, settings).ToArray();
        snn.Step(images).Dispose();
        snn.Reset();
        Assert.That(snn.Simulate(images, settings).ToArray(), Is.EqualTo(first), "a streaming step in between changes nothing");
    }
}
