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

    private static readonly SimulationSettings Cos = new(steps: 3, presim: 3);

    private static float[] Outputs(SpikingNetwork snn, Tensor images)
    {
        using var y = snn.Simulate(images, Cos);
        return y.ToArray();
    }

    [Test]
    public void LoadStateDictReachesEveryConvAndLinear()
    {
        var source = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 1));
        var target = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 1)); // same thresholds λ
        foreach (var w in target.Network.Parameters()) w.Backend.Fill(w, 0.01f);
        using var images = SnnTestModels.Images(3, 1, 28, 5);
        Assert.That(Outputs(target, images), Is.Not.EqualTo(Outputs(source, images)), "the overwritten weights matter");
        target.Network.LoadStateDict(source.StateDict());
        Assert.That(Outputs(target, images), Is.EqualTo(Outputs(source, images)), "weights loaded by state dict give the same spikes");
    }

    [Test]
    public void ToCpuKeepsTheWeightsAndTheSpikeTrains()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 4));
        using var images = SnnTestModels.Images(2, 1, 28, 3);
        var before = Outputs(snn, images);
        var weights = snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        snn.To(Device.Cpu);
        Assert.That(snn.Network.Parameters().Select(p => p.Device), Is.All.EqualTo(Device.Cpu));
        Assert.That(snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), Is.EqualTo(weights));
        Assert.That(Outputs(snn, images), Is.EqualTo(before));
    }

    [Test]
    public void AStreamingStepInBetweenChangesNoMultiStepRun()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 6));
        using var images = SnnTestModels.Images(2, 1, 28, 8);
        var first = Outputs(snn, images);
        snn.Step(images).Dispose();
        snn.Reset();
        Assert.That(Outputs(snn, images), Is.EqualTo(first));
    }
}
