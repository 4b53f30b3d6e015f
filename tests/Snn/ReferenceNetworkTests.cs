namespace SpikeEngine.Tests.Snn;

/// <summary>
/// The whole conversion + COS simulation against tools/reference/cos_reference.py on the same weights
/// and input: per-step outputs for ρ ∈ {0, 1, 4}, T = 8, and per-layer spike counts per step. Conv
/// results differ from PyTorch's in the last bits, so a neuron sitting exactly at threshold could flip:
/// outputs are compared with a tight tolerance and the spike-count difference is reported (expected 0).
/// </summary>
public class ReferenceNetworkTests
{
    private static void Compare(string modelPath, SafeTensors.Contents fixture)
    {
        var meta = fixture.Metadata;
        var ann = ModelZoo.Create(meta["arch"], 10, int.Parse(meta["levels"]), new ModelOptions { Initialize = false });
        Checkpoints.LoadInto(ann, modelPath, strict: true);
        ann.Eval();
        var x = fixture.Tensors["input"];
        int batch = x.Shape[0], steps = int.Parse(meta["steps"]);
        using (SpikeEngine.Autograd.Grad.NoGrad())
        {
            using var logits = ann.Forward(x);
            AssertClose(logits.ToArray(), fixture.Tensors["ann.logits"].ToArray(), "ANN logits");
        }
        var snn = SpikingNetwork.Convert(ann);
        var layers = meta["if_layers"].Split(',');
        Assert.That(snn.IfLayers.Select(l => l.LayerName), Is.EquivalentTo(layers));
        long totalSpikes = 0, spikeDifference = 0;
        foreach (var rho in meta["rhos"].Split(',').Select(int.Parse))
        {
            var recorder = new SpikeRecorder();
            using var outputs = snn.Simulate(x, new SimulationSettings(steps, rho), recorder);
            AssertClose(outputs.ToArray(), fixture.Tensors[$"rho{rho}.outputs"].ToArray(), $"ρ={rho} per-step outputs");
            var stats = recorder.Result();
            foreach (var layer in stats.Layers)
            {
                var expected = fixture.Tensors[$"rho{rho}.spikes.{layer.Name}"].ToArray();
                for (int t = 0; t < steps; t++)
                {
                    long ours = (long)Math.Round(layer.SpikesPerStep[t] * batch);
                    totalSpikes += (long)expected[t];
                    spikeDifference += Math.Abs(ours - (long)expected[t]);
                }
                long neurons = (long)layer.NeuronsPerImage * batch;
                Assert.That(Math.Round(layer.ShiftedUp * neurons), Is.EqualTo(fixture.Tensors[$"rho{rho}.shift_up.{layer.Name}"].Item()).Within(2), $"ρ={rho} {layer.Name} shifted up");
                Assert.That(Math.Round(layer.ShiftedDown * neurons), Is.EqualTo(fixture.Tensors[$"rho{rho}.shift_down.{layer.Name}"].Item()).Within(2), $"ρ={rho} {layer.Name} shifted down");
            }
        }
        TestContext.Out.WriteLine($"{meta["arch"]}: spike-count difference vs reference {spikeDifference} of {totalSpikes} spikes");
        Assert.That(totalSpikes, Is.GreaterThan(0));
        Assert.That(spikeDifference, Is.LessThanOrEqualTo(Math.Max(2, totalSpikes / 10000)), "spikes differing from the reference");
    }

    /// <summary>|a − b| ≤ 1e-4 · max|b| for all but a handful of elements (a flipped spike moves a few logits).</summary>
    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double scale = Math.Max(1e-6, expected.Max(Math.Abs));
        var bad = Enumerable.Range(0, actual.Length).Where(i => Math.Abs(actual[i] - expected[i]) > 1e-4 * scale).ToList();
        TestContext.Out.WriteLine($"{what}: {bad.Count} of {actual.Length} elements differ beyond 1e-4·{scale:G3}");
        Assert.That(bad.Count, Is.LessThanOrEqualTo(Math.Max(0, actual.Length / 100)),
            $"{what}: first differences {string.Join("; ", bad.Take(5).Select(i => $"[{i}] {actual[i]} vs {expected[i]}"))}");
    }

    [Test]
    public void CnnMatchesTheCommittedReference()
        => Compare(ReferenceFixtures.Committed("cnn.model.safetensors"), SafeTensors.Load(ReferenceFixtures.Committed("cnn.cos.safetensors")));

    [Test]
    public void ResNet20CheckpointFixtureMatchesTheCommittedReference()
        => Compare(Path.Combine(AppContext.BaseDirectory, "fixtures", "checkpoints", "resnet20_mixed_fp16.pth"),
            SafeTensors.Load(ReferenceFixtures.Committed("resnet20.cos.safetensors")));

    /// <summary>
    /// A fresh random model and input from the reference script. VGG-16 is the engine's full-width network
    /// (its 134 MB of weights are written to a temporary folder, never committed); one image keeps it to seconds.
    /// </summary>
    [TestCase("cnn", "4")]
    [TestCase("resnet20", "2")]
    [TestCase("vgg16", "1")]
    public void MatchesAFreshlyRegeneratedReference(string arch, string batch)
    {
        var folder = Directory.CreateTempSubdirectory("snnref").FullName;
        try
        {
            var model = Path.Combine(folder, "model.safetensors");
            var fixture = ReferenceFixtures.Regenerate(folder, "cos.safetensors", "--arch", arch, "--batch", batch, "--seed", "21",
                "--save-safetensors", model, "--no-probe");
            Compare(model, fixture);
        }
        finally { Directory.Delete(folder, true); }
    }
}
