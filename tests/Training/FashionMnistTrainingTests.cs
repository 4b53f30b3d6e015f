using System.Diagnostics;
using SpikeEngine.Tests.Support;
using SpikeEngine.Training;

namespace SpikeEngine.Tests.Training;

/// <summary>
/// The method's experiment on real data, sized for CI: train the engine's small QCFS CNN (L = 4) on
/// Fashion-MNIST, convert it, and check on 2,000 test images what METHOD.md §6–7 says carries over to any
/// model: with COS the SNN comes within a point or two of the ANN, is clearly above plain conversion at
/// small T, and has more neurons with offset spike ψ = 0. (The full table on all 10,000 test images is
/// what the Runner prints: `train` then `snn`; BundledDemoTests pins it for the bundled model.)
/// </summary>
[Category("Slow")]
public class FashionMnistTrainingTests
{
    private Module _model = null!;
    private TrainingResult _fit = null!;
    private DataLoader _test = null!;

    // Measured (seed 1): 86.4 %, 88.2 %, 89.5 % after epochs 1–3. Two epochs (87.9 % with lr 0.05, 86.4 % with lr 0.1)
    // left too little margin: with λ = 8 and L = 4 most early activations quantise to 0 until λ adapts.
    [OneTimeSetUp]
    public void Train()
    {
        var folder = TestEnvironment.RequireFashionMnist("train-images-idx3-ubyte.gz");
        var train = new DataLoader(FashionMnist.Load(folder, train: true), 64, Normalization.FashionMnist, shuffle: true, seed: 1);
        _test = new DataLoader(FashionMnist.Load(folder, train: false), 500, Normalization.FashionMnist);
        _model = ModelZoo.Create("cnn", 10, 4, new ModelOptions { Seed = 1 });
        var info = SpikeEngine.IO.ModelMetadata.Of("cnn", 10, 4, "FashionMNIST", Normalization.FashionMnist);
        var clock = Stopwatch.StartNew();
        _fit = new Trainer(new TrainerOptions { Epochs = 3, LearningRate = 0.05f, Momentum = 0.9f, WeightDecay = 5e-4f }, info)
            .Fit(_model, train, _test);
        TestContext.Progress.WriteLine($"Fashion-MNIST cnn L=4: {string.Join(", ", _fit.Epochs.Select(e => $"epoch {e.Epoch}: test top-1 {e.Test.Top1:P2}"))}; {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Test]
    public void SmallQcfsCnnReaches88PercentOnFashionMnist()
        => Assert.That(_fit.BestAccuracy, Is.GreaterThanOrEqualTo(0.88));

    [Test]
    public void ConvertedWithCosItStaysNearTheAnnAndBeatsPlainConversionAtSmallT()
    {
        var snn = SpikingNetwork.Convert(_model);
        var result = SnnEvaluator.Evaluate(_model, snn, _test, [new SimulationSettings(8, presim: 0), new SimulationSettings(8, presim: 4)], maxBatches: 4);
        TestContext.Out.WriteLine(result.ToTable());
        var (plain, cos) = (result.Runs[0], result.Runs[1]);
        Assert.That(result.Samples, Is.EqualTo(2000));
        // Measured (this recipe, 3 epochs, first 2,000 test images): ANN 90.60; plain 85.30 / 87.30 / 89.55 / 90.10 and
        // COS 88.10 / 89.35 / 90.45 / 89.80 at T = 1 / 2 / 4 / 8. The bounds below are the method's claims, not these values.
        Assert.That(cos.At(4), Is.GreaterThanOrEqualTo(result.AnnAccuracy - 0.01), "COS at T = 4 within a point of the ANN");
        Assert.That(cos.At(8), Is.GreaterThanOrEqualTo(result.AnnAccuracy - 0.01), "COS at T = 8 within a point of the ANN");
        Assert.That(cos.At(1), Is.GreaterThanOrEqualTo(plain.At(1) + 0.01), "COS at T = 1 at least a point above plain conversion");
        Assert.That(cos.At(2), Is.GreaterThan(plain.At(2)), "COS above plain conversion at T = 2");

        // Offset spikes (METHOD.md §6) on one batch: |ψ| ≤ 1 for almost all neurons, and COS drives ψ to 0.
        // (The bundled model, first 500 images, T = 4: ψ = 0 for 98.24 % plain, 99.90 % with COS.)
        using var batch = _test.Epoch(0).First();
        double Share(int presim, Func<int, bool> which)
        {
            var recorder = new SpikeRecorder();
            snn.Simulate(batch.Images, new SimulationSettings(4, presim), recorder).Dispose();
            var stats = recorder.Result();
            TestContext.Out.WriteLine(stats.ToTable());
            return stats.Layers.Sum(l => (double)l.OffsetHistogram.Where(kv => which(kv.Key)).Sum(kv => kv.Value))
                   / stats.Layers.Sum(l => (double)l.OffsetHistogram.Values.Sum());
        }
        Assert.That(Share(0, psi => Math.Abs(psi) <= 1), Is.GreaterThanOrEqualTo(0.95), "plain: share of neurons with |ψ| ≤ 1");
        double before = Share(0, psi => psi == 0), after = Share(4, psi => psi == 0);
        Assert.That(after, Is.GreaterThan(before), $"share of neurons with ψ = 0: plain {before:P2}, COS {after:P2}");
    }
}
