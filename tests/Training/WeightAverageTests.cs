using SpikeEngine.Training;

namespace SpikeEngine.Tests.Training;

/// <summary>Stochastic weight averaging: the mean of the snapshots, and BatchNorm statistics measured again for it.</summary>
public class WeightAverageTests
{
    private static void Fill(Module model, int seed)
    {
        var rng = new Random(seed);
        foreach (var (_, p) in model.NamedParameters())
            p.Backend.CopyFromHost(Enumerable.Range(0, (int)p.Numel).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray(), p);
    }

    [Test]
    public void TheAverageIsTheMeanOfTheSnapshotsAndSurvivesASaveAndLoad()
    {
        var model = ModelZoo.Create("cnn", 2, 4);
        var average = new WeightAverage();
        var snapshots = new List<Dictionary<string, float[]>>();
        foreach (int seed in new[] { 1, 2, 3 })
        {
            Fill(model, seed);
            snapshots.Add(model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.ToArray()));
            average.Add(model);
        }
        Assert.That(average.Count, Is.EqualTo(3));
        var buffersBefore = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Tensor.ToArray());

        void AssertHoldsTheMean(Module m)
        {
            foreach (var (name, p) in m.NamedParameters())
            {
                var got = p.ToArray();
                for (int i = 0; i < got.Length; i++)
                    Assert.That(got[i], Is.EqualTo(snapshots.Average(s => (double)s[name][i])).Within(1e-6), $"{name}[{i}]");
            }
        }
        average.CopyTo(model);
        AssertHoldsTheMean(model);
        Assert.That(model.NamedBuffers().All(b => b.Tensor.ToArray().SequenceEqual(buffersBefore[b.Name])), Is.True, "buffers are not averaged");

        var saved = average.ToTensors();
        var other = ModelZoo.Create("cnn", 2, 4, new ModelOptions { Seed = 9 });
        var loaded = WeightAverage.Load(saved, 3, other, "test.safetensors");
        Assert.That(loaded.Count, Is.EqualTo(3));
        loaded.CopyTo(other);
        AssertHoldsTheMean(other);

        // A fourth snapshot continues the mean where the loaded one stopped.
        Fill(model, 4);
        var fourth = model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.ToArray());
        loaded.Add(model);
        loaded.CopyTo(other);
        var (firstName, firstParam) = other.NamedParameters().First();
        Assert.That(firstParam.ToArray()[0], Is.EqualTo((snapshots.Sum(s => (double)s[firstName][0]) + fourth[firstName][0]) / 4).Within(1e-6));

        var wrongShape = new Dictionary<string, Tensor>(saved) { [firstName] = Tensor.Zeros(new Shape(3)) };
        Assert.That(() => WeightAverage.Load(wrongShape, 3, other, "test.safetensors"),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("test.safetensors").And.Message.Contains(firstName).And.Message.Contains("shape"));
        var missing = saved.Where(kv => kv.Key != firstName).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.That(() => WeightAverage.Load(missing, 3, other, "test.safetensors"),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("missing " + firstName));
        Assert.That(() => new WeightAverage().CopyTo(other), Throws.InvalidOperationException);
    }

    [Test]
    public void BatchNormStatisticsBecomeThePlainAverageOfTheBatchStatistics()
    {
        // 3 channels of 4×4 pixels, 10 images in batches of 4, 4 and 2 (the short last batch counts as one batch, as in PyTorch).
        var rng = new Random(7);
        var pixels = Enumerable.Range(0, 10 * 3 * 16).Select(_ => (byte)rng.Next(256)).ToArray();
        var data = new InMemoryImageDataset("bn", 3, 4, 4, pixels, new int[10], ["a"]);
        var loader = new DataLoader(data, 4, Normalization.Cifar10, shuffle: true, seed: 3);
        var bn = new BatchNorm2d(3, momentum: 0.25f);
        var model = new Sequential(bn);
        bn.RunningMean.Backend.CopyFromHost([5f, 5f, 5f], bn.RunningMean);
        bn.RunningVar.Backend.CopyFromHost([9f, 9f, 9f], bn.RunningVar);
        model.Eval();

        int batches = WeightAverage.RecomputeBatchNorm(model, loader, Device.Cpu, epoch: 2);

        // The reference: per batch and channel the mean and the unbiased variance, averaged over the batches.
        var mean = new double[3];
        var variance = new double[3];
        int count = 0;
        foreach (var batch in loader.Epoch(2))
        {
            using (batch)
            {
                var x = batch.Images.ToArray();
                int n = batch.Size;
                for (int c = 0; c < 3; c++)
                {
                    var values = Enumerable.Range(0, n).SelectMany(i => Enumerable.Range(0, 16).Select(k => (double)x[(i * 3 + c) * 16 + k])).ToArray();
                    double m = values.Average();
                    mean[c] += m;
                    variance[c] += values.Sum(v => (v - m) * (v - m)) / (values.Length - 1);
                }
                count++;
            }
        }
        Assert.That(batches, Is.EqualTo(3));
        Assert.That(count, Is.EqualTo(3));
        var runningMean = bn.RunningMean.ToArray();
        var runningVar = bn.RunningVar.ToArray();
        for (int c = 0; c < 3; c++)
        {
            Assert.That(runningMean[c], Is.EqualTo(mean[c] / count).Within(1e-5), $"running_mean[{c}]");
            Assert.That(runningVar[c], Is.EqualTo(variance[c] / count).Within(1e-5), $"running_var[{c}]");
        }
        Assert.That(bn.Momentum, Is.EqualTo(0.25f), "the layer's momentum is restored");
        Assert.That(model.Training, Is.False, "the model's mode is restored");
    }
}
