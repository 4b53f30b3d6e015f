using NUnit.Framework;
using SpikeEngine.Data;
using SpikeEngine.Nn.Models;
using SpikeEngine.Snn;
using SpikeEngine.Training;

namespace SpikeEngine.Tests.Snn;

/// <summary>
/// The brief's experiment (not part of the suite: minutes of CPU): train the engine's small QCFS CNN
/// (conv 32/64, L = 4) for 2 epochs on Fashion-MNIST, convert it, and print ANN | plain T=1,2,4,8 |
/// COS (ρ=4) T=1,2,4,8 on the test set, plus diagnostics. Run with
///   ./tests/bin/Release/net10.0/SpikeEngine.Tests --filter "FullyQualifiedName~FashionMnistExperiment"
/// Environment: SNN_FMNIST_EPOCHS (default 2), SNN_FMNIST_OUT (folder for the model and result JSON).
/// </summary>
[Explicit("minutes of CPU; run on purpose")]
[Category("Experiment")]
public class FashionMnistExperiment
{
    [Test]
    public void TrainConvertAndEvaluate()
    {
        const string folder = "/usr/share/datasets/fashion-mnist";
        if (!File.Exists(Path.Combine(folder, "train-images-idx3-ubyte.gz"))) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist).");
        int epochs = int.TryParse(Environment.GetEnvironmentVariable("SNN_FMNIST_EPOCHS"), out var e) ? e : 2;
        var outDir = Environment.GetEnvironmentVariable("SNN_FMNIST_OUT") ?? Directory.CreateTempSubdirectory("snn-fmnist").FullName;
        Directory.CreateDirectory(outDir);
        var train = FashionMnist.Load(folder, train: true);
        var test = FashionMnist.Load(folder, train: false);
        var trainLoader = new DataLoader(train, 128, Normalization.FashionMnist, shuffle: true, seed: 1);
        var testLoader = new DataLoader(test, 200, Normalization.FashionMnist);
        var model = Models.Create("cnn", 10, 4, new ModelOptions { Seed = 1 });
        var info = new ModelInfo("cnn", 10, 4, "fashion-mnist", Normalization.FashionMnist);
        var trainer = new Trainer(new TrainerOptions { Epochs = epochs, LearningRate = 0.05f, SaveDir = outDir, ReportEvery = 100 }, info);
        var fit = trainer.Fit(model, trainLoader, testLoader, new Progress<TrainingProgress>(p => TestContext.Progress.WriteLine(p.ToString())));
        TestContext.Out.WriteLine($"trained: best {fit.BestAccuracy:P2} at epoch {fit.BestEpoch}");

        var snn = SpikingNetwork.Convert(model);
        var result = SnnEvaluator.Evaluate(model, snn, testLoader, [new SimulationSettings(8, 0), new SimulationSettings(8, 4)],
            progress: s => TestContext.Progress.WriteLine(s));
        TestContext.Out.WriteLine(result.ToTable());
        File.WriteAllText(Path.Combine(outDir, "snn_eval.json"), result.ToJson());

        using var batch = testLoader.Epoch(0).First();
        foreach (var settings in new[] { new SimulationSettings(4, 0), new SimulationSettings(4, 4) })
        {
            var recorder = new SpikeRecorder();
            snn.Simulate(batch.Images, settings, recorder).Dispose();
            var stats = recorder.Result();
            TestContext.Out.WriteLine(stats.ToTable());
            File.WriteAllText(Path.Combine(outDir, $"snn_diag_rho{settings.Presim}.json"), stats.ToJson());
        }
        Assert.That(result.AnnAccuracy, Is.GreaterThan(0.8));
    }
}
