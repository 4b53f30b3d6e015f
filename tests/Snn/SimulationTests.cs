using NUnit.Framework;
using SpikeEngine.Data;
using SpikeEngine.Nn;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Snn;

public class SimulationTests
{
    [Test]
    public void StreamingGivesTheSameOutputsAsMultiStepWithRhoZero()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 11));
        using var x = SnnTestModels.Images(3, 1, 28, 4);
        const int steps = 6;
        using var multi = snn.Simulate(x, new SimulationSettings(steps));
        var expected = multi.ToArray();
        snn.Reset();
        int classes = 10, rows = 3 * classes;
        for (int t = 0; t < steps; t++)
        {
            using var step = snn.Step(x);
            var actual = step.ToArray();
            var want = expected.AsSpan(t * rows, rows).ToArray();
            for (int i = 0; i < rows; i++)
                Assert.That(actual[i], Is.EqualTo(want[i]).Within(1e-5f * (1 + Math.Abs(want[i]))), $"step {t + 1}, element {i}");
        }
        // After Reset the stream starts over.
        snn.Reset();
        using var first = snn.Step(x);
        Assert.That(first.ToArray(), Is.EqualTo(expected.AsSpan(0, rows).ToArray()).Within(1e-4f));
    }

    [Test]
    public void EarlyStepsDoNotDependOnTAndRhoLongerThanTWorks()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 12));
        using var x = SnnTestModels.Images(2, 1, 28, 5);
        using var longRun = snn.Simulate(x, new SimulationSettings(8, presim: 4));
        using var shortRun = snn.Simulate(x, new SimulationSettings(2, presim: 4));   // ρ > T: N = 4 steps
        Assert.That(shortRun.Shape, Is.EqualTo(new Shape(4 * 2, 10)));
        var a = longRun.ToArray().AsSpan(0, 4 * 2 * 10).ToArray();
        var b = shortRun.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.That(b[i], Is.EqualTo(a[i]).Within(1e-4f * (1 + Math.Abs(a[i]))), $"element {i}");
    }

    [Test]
    public void CosChangesSpikeTrainsAndPlainEqualsRhoZero()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 13));
        using var x = SnnTestModels.Images(2, 1, 28, 6);
        var plain = new SpikeRecorder();
        var cos = new SpikeRecorder();
        snn.Simulate(x, new SimulationSettings(4, 0), plain).Dispose();
        snn.Simulate(x, new SimulationSettings(4, 4), cos).Dispose();
        var p = plain.Result();
        var c = cos.Result();
        Assert.That(p.Layers.All(l => l.ShiftedUp == 0 && l.ShiftedDown == 0), "ρ = 0 never shifts");
        Assert.That(c.Layers.Sum(l => l.ShiftedUp + l.ShiftedDown), Is.GreaterThan(0), "COS shifts some neurons");
        foreach (var l in p.Layers.Concat(c.Layers))
        {
            Assert.That(l.OffsetHistogram.Values.Sum(), Is.EqualTo(2L * l.NeuronsPerImage), $"{l.Name}: one ψ per neuron and image");
            Assert.That(l.SpikesPerStep.Sum() / (4.0 * l.NeuronsPerImage), Is.EqualTo(l.FiringRate).Within(1e-12));
        }
    }

    [Test]
    public void PredictionsUseCumulativeOutputsAndTiesGoToTheLowestClass()
    {
        // B = 2, 3 classes, 3 steps.
        float[] o =
        [
            0, 1, 1,    2, 0, 0,     // t=1: image 0 ties 1 and 2 → 1; image 1 → 0
            0, 0, 1,    0, 2, 0,     // t=2: cumulative (0,1,2) → 2; (2,2,0) tie → 0
            5, 0, 0,    0, 1, 0,     // t=3: (5,1,2) → 0; (2,3,0) → 1
        ];
        using var t = Tensor.FromArray(o, new Shape(6, 3));
        var p = SpikingNetwork.PredictionsPerStep(t, 2, 3);
        Assert.That(p[0], Is.EqualTo(new[] { 1, 0 }));
        Assert.That(p[1], Is.EqualTo(new[] { 2, 0 }));
        Assert.That(p[2], Is.EqualTo(new[] { 0, 1 }));
    }

    [Test]
    public void EvaluationReportsAnnAndPerStepAccuracyFromOneRunPerSetting()
    {
        var ann = SnnTestModels.Cnn(seed: 14);
        var snn = SpikingNetwork.Convert(ann);
        var rng = new Random(3);
        int n = 24;
        var pixels = new byte[n * 28 * 28];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, n).Select(i => i % 10).ToArray();
        var data = new InMemoryImageDataset("random", 1, 28, 28, pixels, labels, Enumerable.Range(0, 10).Select(i => i.ToString()).ToList());
        var loader = new DataLoader(data, 10, Normalization.FashionMnist, shuffle: false);
        var result = SnnEvaluator.Evaluate(ann, snn, loader, [new SimulationSettings(4), new SimulationSettings(8, 4)]);
        Assert.That(result.Samples, Is.EqualTo(n));
        Assert.That(result.Runs[1].AccuracyPerStep, Has.Length.EqualTo(8));

        // The same numbers by hand: labels equal to the predictions of a separate simulation.
        long annHits = 0;
        var hits = new long[8];
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                using (SpikeEngine.Autograd.Grad.NoGrad())
                {
                    using var logits = ann.Forward(batch.Images);
                    annHits += SpikingNetwork.PredictionsPerStep(logits, batch.Size, 1)[0].Zip(batch.Labels).Count(p => p.First == p.Second);
                }
                using var outputs = snn.Simulate(batch.Images, new SimulationSettings(8, 4));
                var per = SpikingNetwork.PredictionsPerStep(outputs, batch.Size, 8);
                for (int t = 0; t < 8; t++) hits[t] += per[t].Zip(batch.Labels).Count(p => p.First == p.Second);
            }
        Assert.That(result.AnnAccuracy, Is.EqualTo(annHits / (double)n));
        Assert.That(result.Runs[1].AccuracyPerStep, Is.EqualTo(hits.Select(h => h / (double)n).ToArray()));
        Assert.That(result.ToTable(), Does.Contain("COS ρ=4"));
        Assert.That(result.ToJson(), Does.Contain("\"accuracy_per_step\""));
    }
}
