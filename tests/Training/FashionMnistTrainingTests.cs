using System.Diagnostics;
using NUnit.Framework;
using SpikeEngine.Data;
using SpikeEngine.Nn.Models;
using SpikeEngine.Training;

namespace SpikeEngine.Tests.Training;

public class FashionMnistTrainingTests
{
    // Measured (seed 1): 86.4 %, 88.2 %, 89.5 % after epochs 1–3. Two epochs (87.9 % with lr 0.05, 86.4 % with lr 0.1)
    // left too little margin: with λ = 8 and L = 4 most early activations quantise to 0 until λ adapts.
    [Test]
    [Category("Slow")]
    public void SmallQcfsCnnReaches88PercentOnFashionMnist()
    {
        var folder = FashionMnist.DebianFolder;
        if (!Directory.Exists(folder))
            Assert.Ignore($"Fashion-MNIST not found in {folder} (install Debian's dataset-fashion-mnist).");
        var train = new DataLoader(FashionMnist.Load(folder, train: true), 64, Normalization.FashionMnist, shuffle: true, seed: 1);
        var test = new DataLoader(FashionMnist.Load(folder, train: false), 500, Normalization.FashionMnist);
        var model = Models.Create("cnn", 10, 4, new ModelOptions { Seed = 1 });
        var info = SpikeEngine.IO.ModelMetadata.Of("cnn", 10, 4, "FashionMNIST", Normalization.FashionMnist);
        var clock = Stopwatch.StartNew();
        var result = new Trainer(new TrainerOptions { Epochs = 3, LearningRate = 0.05f, Momentum = 0.9f, WeightDecay = 5e-4f }, info)
            .Fit(model, train, test);
        TestContext.Out.WriteLine($"Fashion-MNIST cnn L=4: {string.Join(", ", result.Epochs.Select(e => $"epoch {e.Epoch}: test top-1 {e.Test.Top1:P2}"))}; {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(result.BestAccuracy, Is.GreaterThanOrEqualTo(0.88));
    }
}
