namespace SpikeEngine.Tests.Snn;

public class DiagnosticsTests
{
    /// <summary>[Conv 1→2 3×3 pad 1, QCFS, Flatten, Linear(32, 3)] on 4×4 images, random weights.</summary>
    internal static Sequential Tiny(int seed)
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
        // A constant input c ∈ [0, 1] from v = 0.5 fires floor(c·T + 1/2) times, exactly what ψ's second term asks
        // for, so every ψ here is 0 (the non-zero cases are in OffsetSpikeCountsHandWorkedTooManyTooFewAndSaturated).
        using var x = Tensor.FromArray([0.3f, 0.55f, -1f, 2f], new Shape(4, 1, 1, 1));
        var recorder = new SpikeRecorder();
        snn.Simulate(x, new SimulationSettings(4), recorder).Dispose();
        var h = recorder.Result().Layers.Single().OffsetHistogram;
        // Spike counts: 0.3 → v: 0.8, 1.1*, 0.4, 0.7 → 1 (expected floor(1.7)=1, ψ 0);
        // 0.55 → 1.05*, 0.6, 1.15*, 0.7 → 2 (expected floor(2.7)=2, ψ 0); −1 → 0 (ψ 0); 2 → 4 spikes, clamp → 4 (ψ 0).
        Assert.That(h, Is.EquivalentTo(new Dictionary<int, long> { [0] = 4 }));
    }

    /// <summary>
    /// Two IF layers (θ₁ = 1, θ₂ = 2) behind identity / hand-set weights, so that every input current of the
    /// second layer is known exactly (dyadic values). T = 4. Layer 1 gets constant currents and emits
    ///   A (c = 0.5):   v 1.0* 0.5 1.0* 0.5            → spikes at t = 1, 3   [1 0 1 0]
    ///   B (c = 0.125): v 0.625 0.75 0.875 1.0*        → spike at t = 4       [0 0 0 1]
    ///   C (c = 1):     v 1.5* every step              → [1 1 1 1]
    /// (ψ = 2 − floor(2.5), 1 − floor(1.0), 4 − clamp(floor(4.5)) = 0 for all three). Layer 2 gets z = W·(θ₁·s),
    /// I = z / θ₂ per step, and the spec's ψ = Σ s − clamp(floor(Σ I + 1/2), 0, T) (METHOD.md §6, with §3–4
    /// for the spikes) is worked out by hand in the test.
    /// </summary>
    private static (SpikingNetwork Snn, Tensor Input) TwoLayerPsiNetwork()
    {
        var identity = new Linear(3, 3, bias: false);
        identity.Weight.Backend.CopyFromHost([1, 0, 0, 0, 1, 0, 0, 0, 1], identity.Weight);
        var mix = new Linear(3, 5, bias: false);
        mix.Weight.Backend.CopyFromHost(
        [
        //  A   B    C
            1, -2,   0,   // n0: I = [0.5, 0, 0.5, −1]
            0,  3,   0,   // n1: I = [0, 0, 0, 1.5]
            0, 16,   0,   // n2: I = [0, 0, 0, 8]
            6, -40,  0,   // n3: I = [3, 0, 3, −20]
            0,  0,   1,   // n4: I = [0.5, 0.5, 0.5, 0.5]
        ], mix.Weight);
        var readout = new Linear(5, 1);
        var ann = new Sequential(identity, new Qcfs(4, 1f), mix, new Qcfs(4, 2f), readout);
        return (SpikingNetwork.Convert(ann), Tensor.FromArray([0.5f, 0.125f, 1f], new Shape(1, 3)));
    }

    [Test]
    public void OffsetSpikeCountsHandWorkedTooManyTooFewAndSaturated()
    {
        var (snn, x) = TwoLayerPsiNetwork();
        using var input = x;
        var recorder = new SpikeRecorder();
        snn.Simulate(input, new SimulationSettings(4), recorder).Dispose();
        var layers = recorder.Result().Layers;
        Assert.That(layers.Select(l => l.Name), Is.EqualTo(new[] { "1", "3" }));
        Assert.That(layers[0].OffsetHistogram, Is.EquivalentTo(new Dictionary<int, long> { [0] = 3 }), "layer 1 (constant inputs)");
        // Plain IF (v starts at 0.5), layer 2; "*" marks a spike (v ≥ 1, then v − 1):
        //   n0 one too many: v 1.0* → 0 | 0 | 0.5 | −0.5          1 spike;  Σ I = 0:   clamp(floor(0.5))  = 0   ψ = +1
        //   n1 one too few:  v 0.5 | 0.5 | 0.5 | 2.0* → 1.0       1 spike;  Σ I = 1.5: clamp(floor(2.0))  = 2   ψ = −1
        //   n2 saturated:    v 0.5 | 0.5 | 0.5 | 8.5* → 7.5       1 spike;  Σ I = 8:   clamp(floor(8.5))  = 4   ψ = −3
        //   n3 saturated at 0: v 3.5* → 2.5 | 2.5* → 1.5 | 4.5* → 3.5 | −16.5
        //                                                         3 spikes; Σ I = −14: clamp(floor(−13.5)) = 0 ψ = +3
        //   n4 balanced:     v 1.0* → 0 | 0.5 | 1.0* → 0 | 0.5     2 spikes; Σ I = 2:   clamp(floor(2.5))  = 2   ψ = 0
        Assert.That(layers[1].OffsetHistogram, Is.EquivalentTo(new Dictionary<int, long> { [-3] = 1, [-1] = 1, [0] = 1, [1] = 1, [3] = 1 }),
            "layer 2, plain");
        Assert.That(layers[1].SpikesPerStep, Is.EqualTo(new double[] { 3, 1, 2, 2 }), "layer 2 spikes per step (n0 n3 n4 | n3 | n3 n4 | n1 n2)");
    }

    [Test]
    public void OffsetSpikeCountsHandWorkedAfterCos()
    {
        var (snn, x) = TwoLayerPsiNetwork();
        using var input = x;
        var recorder = new SpikeRecorder();
        snn.Simulate(input, new SimulationSettings(4, presim: 4), recorder).Dispose();
        var layers = recorder.Result().Layers;
        // Layer 1: v_ρ = 0.5, 0.0, 0.5 — none below 0 or at/above 1, so nothing shifts and ψ stays 0.
        Assert.That(layers[0].OffsetHistogram, Is.EquivalentTo(new Dictionary<int, long> { [0] = 3 }));
        Assert.That((layers[0].ShiftedUp, layers[0].ShiftedDown), Is.EqualTo((0.0, 0.0)));
        // Layer 2, pre-simulation ρ = 4 from 0.5 (the plain runs above), then the initial potential v₀:
        //   n0: v_ρ = −0.5 < 0, n = 1, u_min = 1.0:   v₀ = 0.5 − max(1, 1.0 − 0.999) = −0.5
        //       v −0.5 → 0 | 0 | 0.5 | −0.5                      0 spikes, expected 0: ψ = 0
        //   n1: v_ρ = 1.0 ≥ 1, w_max = 0.5:           v₀ = 0.5 + max(1, 1.001 − 0.5) = 1.5
        //       v 1.5* → 0.5 | 0.5 | 0.5 | 2.0* → 1.0             2 spikes, expected 2: ψ = 0
        //   n2: v_ρ = 7.5 ≥ 1, w_max = 0.5:           v₀ = 1.5
        //       v 1.5* → 0.5 | 0.5 | 0.5 | 8.5* → 7.5             2 spikes, expected 4: ψ = −2
        //   n3: v_ρ = −16.5 < 0, n = 3, u_min = 2.5:  v₀ = 0.5 − max(1, 2.5 − 0.999) = −1.001
        //       v 1.999* → 0.999 | 0.999 | 3.999* → 2.999 | −17.001   2 spikes, expected 0: ψ = +2
        //   n4: v_ρ = 0.5: v₀ = 0.5, as plain                     2 spikes, expected 2: ψ = 0
        Assert.That(layers[1].OffsetHistogram, Is.EquivalentTo(new Dictionary<int, long> { [-2] = 1, [0] = 3, [2] = 1 }), "layer 2, COS ρ = 4");
        Assert.That((layers[1].ShiftedUp, layers[1].ShiftedDown), Is.EqualTo((2 / 5.0, 2 / 5.0)), "n1, n2 up; n0, n3 down");
        Assert.That(layers[1].SpikesPerStep, Is.EqualTo(new double[] { 4, 0, 2, 2 }), "layer 2 spikes per step (n1 n2 n3 n4 | — | n3 n4 | n1 n2)");
    }
}
