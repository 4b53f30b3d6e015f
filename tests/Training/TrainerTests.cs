using SpikeEngine.Training;

namespace SpikeEngine.Tests.Training;

public class TrainerTests
{
    private string _dir = "";

    [SetUp]
    public void MakeFolder() => _dir = Path.Combine(Path.GetTempPath(), "se-trainer-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>An easy two-class problem: class 1 images have a bright left half, class 0 a bright right half (plus noise).</summary>
    private static InMemoryImageDataset Halves(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * 28 * 28];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            labels[n] = n % 2;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    bool bright = (x < 14) == (labels[n] == 1);
                    pixels[n * 784 + y * 28 + x] = (byte)Math.Clamp((bright ? 180 : 60) + rng.Next(-50, 50), 0, 255);
                }
        }
        return new InMemoryImageDataset("halves", 1, 28, 28, pixels, labels, ["right", "left"]);
    }

    private static readonly ModelMetadata Info = ModelMetadata.Of("cnn", 2, 4, "halves", Normalization.FashionMnist);

    private static (DataLoader Train, DataLoader Test) Loaders() =>
        // 25 batches per epoch: enough steps for BatchNorm's running statistics (momentum 0.1, running_var from 1) to settle for evaluation.
        (new DataLoader(Halves(200, 1), 8, Normalization.FashionMnist, shuffle: true, seed: 5),
         new DataLoader(Halves(32, 2), 16, Normalization.FashionMnist));

    [Test]
    public void TrainsSavesBestAndLastAndResumes()
    {
        var (train, test) = Loaders();
        var reports = new List<TrainingProgress>();
        var trainer = new Trainer(new TrainerOptions { Epochs = 2, LearningRate = 0.05f, SaveDir = _dir, ReportEvery = 10 }, Info);
        var result = trainer.Fit(ModelZoo.Create("cnn", 2, 4), train, test, new SyncProgress(reports));
        Assert.That(result.Epochs, Has.Count.EqualTo(2));
        Assert.That(result.BestAccuracy, Is.GreaterThanOrEqualTo(0.9), "the two classes are easy to separate");
        Assert.That(reports.Where(r => r.Completed is null).Select(r => r.Batch), Is.SupersetOf(new[] { 10, 20, 25 }));
        Assert.That(reports.Count(r => r.Completed is not null), Is.EqualTo(2));
        Assert.That(reports.First().ImagesPerSecond, Is.GreaterThan(0));
        Assert.That(result.Epochs[1].LearningRate, Is.EqualTo(0.025f).Within(1e-6f), "cosine over 2 epochs");

        var best = SafeTensors.Load(trainer.BestPath!);
        Assert.That(best.Metadata["arch"], Is.EqualTo("cnn"));
        Assert.That(best.Metadata["L"], Is.EqualTo("4"));
        Assert.That(best.Metadata["dataset"], Is.EqualTo("halves"));
        Assert.That(best.Metadata["normalization_mean"], Is.EqualTo("0.5"));
        Assert.That(int.Parse(best.Metadata["epoch"]), Is.EqualTo(result.BestEpoch));
        Assert.That(double.Parse(best.Metadata["accuracy"], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(result.BestAccuracy));
        var reloaded = ModelZoo.Create("cnn", 2, 4, new ModelOptions { Initialize = false });
        reloaded.LoadStateDict(best.Tensors, strict: true, sourceName: trainer.BestPath!);
        Assert.That(Metrics.Evaluate(reloaded, test, SpikeEngine.Tensors.Device.Cpu).Top1, Is.EqualTo(result.BestAccuracy));

        var last = SafeTensors.Load(trainer.LastPath!);
        Assert.That(last.Metadata["epoch"], Is.EqualTo("2"));
        Assert.That(last.Tensors.Keys, Does.Contain(ModelMetadata.MomentumPrefix + "layer1.0.weight"));
        Assert.That(last.Tensors.Keys, Does.Contain("layer1.1.num_batches_tracked"));
        Assert.That(last.Tensors["layer1.1.num_batches_tracked"].Item(), Is.EqualTo(50f), "2 epochs of 25 batches");

        // Resume with a longer schedule: only the third epoch runs, from the saved weights and momentum.
        var resumed = new Trainer(new TrainerOptions { Epochs = 3, LearningRate = 0.05f, SaveDir = _dir, Resume = true }, Info)
            .Fit(ModelZoo.Create("cnn", 2, 4, new ModelOptions { Seed = 99 }), train, test);
        Assert.That(resumed.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 3 }));
        Assert.That(resumed.Epochs[0].TrainAccuracy, Is.GreaterThan(0.8), "continues from the trained weights, not from the fresh initialisation");
        Assert.That(SafeTensors.Load(trainer.LastPath!).Tensors["layer1.1.num_batches_tracked"].Item(), Is.EqualTo(75f));
    }

    [Test]
    public void TheTrainingLogHasOneRowPerEpochAndSurvivesAResume()
    {
        var (train, test) = Loaders();
        var first = new Trainer(new TrainerOptions { Epochs = 3, WarmupEpochs = 1, LearningRate = 0.05f, SaveDir = _dir }, Info);
        var result = first.Fit(ModelZoo.Create("cnn", 2, 4), train, test);
        var rows = TrainingLog.Read(first.LogPath!);
        Assert.That(rows.Select(r => r.Epoch), Is.EqualTo(new[] { 1, 2, 3 }));
        for (int i = 0; i < 3; i++)
        {
            var e = result.Epochs[i];
            Assert.That(rows[i].LearningRate, Is.EqualTo(e.LearningRate).Within(1e-6));
            Assert.That(rows[i].TrainLoss, Is.EqualTo(e.TrainLoss).Within(1e-5 * Math.Max(1, e.TrainLoss)));
            Assert.That(rows[i].TrainAccuracy, Is.EqualTo(e.TrainAccuracy).Within(1e-6));
            Assert.That(rows[i].TestAccuracy, Is.EqualTo(e.Test.Top1).Within(1e-6));
            // milliseconds kept: a tiny epoch on a fast machine is well under the 0.05 s that one decimal would show
            Assert.That(rows[i].Seconds, Is.EqualTo(e.Duration.TotalSeconds).Within(0.0006));
            Assert.That(rows[i].Seconds, Is.GreaterThan(0));
        }
        Assert.That(rows[0].LearningRate, Is.EqualTo(0.05).Within(1e-7), "the warm-up epoch ends at the base rate");
        Assert.That(rows[1].LearningRate, Is.EqualTo(0.05).Within(1e-7), "the cosine starts at the base rate after the warm-up");
        Assert.That(rows[2].LearningRate, Is.EqualTo(0.025).Within(1e-7), "cosine over the 2 remaining epochs");

        // A resumed run keeps the rows up to its checkpoint (epoch 3) and appends its own; a stale row past it is dropped.
        TrainingLog.Write(first.LogPath!, rows.Append(rows[2] with { Epoch = 4 }));
        var resumed = new Trainer(new TrainerOptions { Epochs = 4, WarmupEpochs = 1, LearningRate = 0.05f, SaveDir = _dir, Resume = true }, Info);
        var more = resumed.Fit(ModelZoo.Create("cnn", 2, 4), train, test);
        var after = TrainingLog.Read(resumed.LogPath!);
        Assert.That(after.Select(r => r.Epoch), Is.EqualTo(new[] { 1, 2, 3, 4 }));
        Assert.That(after.Take(3), Is.EqualTo(rows));
        Assert.That(after[3].TestAccuracy, Is.EqualTo(more.Epochs[0].Test.Top1).Within(1e-6));

        File.WriteAllText(first.LogPath!, "epoch,loss\n1,2\n");
        Assert.That(() => TrainingLog.Read(first.LogPath!), Throws.TypeOf<InvalidDataException>().With.Message.Contains(TrainingLog.FileName).And.Message.Contains("header"));
    }

    [Test]
    public void ResumeRefusesACheckpointOfAnotherModel()
    {
        var (train, test) = Loaders();
        new Trainer(new TrainerOptions { Epochs = 1, LearningRate = 0.05f, SaveDir = _dir }, Info).Fit(ModelZoo.Create("cnn", 2, 4), train, test);
        var other = Info with { Levels = 8 };
        Assert.That(() => new Trainer(new TrainerOptions { Epochs = 2, SaveDir = _dir, Resume = true }, other).Fit(ModelZoo.Create("cnn", 2, 8), train, test),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("L").And.Message.Contains("'4'"));
    }

    [Test]
    public void NonFiniteLossStopsWithEpochAndBatch()
    {
        var (train, test) = Loaders();
        var model = ModelZoo.Create("cnn", 2, 4);
        var fc = model.StateDict()["classifier.1.weight"];
        fc.Span[0] = float.NaN;
        var trainer = new Trainer(new TrainerOptions { Epochs = 1, SaveDir = _dir }, Info);
        Assert.That(() => trainer.Fit(model, train, test),
            Throws.TypeOf<NonFiniteLossException>().With.Message.Contains("epoch 1, batch 1/25").And.Message.Contains("NaN"));
        Assert.That(File.Exists(trainer.LastPath!), Is.False);
    }

    [Test]
    public void CancellingKeepsTheLastGoodCheckpoint()
    {
        var (train, test) = Loaders();
        var trainer = new Trainer(new TrainerOptions { Epochs = 1, LearningRate = 0.05f, SaveDir = _dir }, Info);
        trainer.Fit(ModelZoo.Create("cnn", 2, 4), train, test);
        var before = File.ReadAllBytes(trainer.LastPath!);
        using var cancel = new CancellationTokenSource();
        var longer = new Trainer(new TrainerOptions { Epochs = 3, LearningRate = 0.05f, SaveDir = _dir, Resume = true, ReportEvery = 1 }, Info);
        var progress = new SyncProgress([], _ => cancel.Cancel());
        Assert.That(() => longer.Fit(ModelZoo.Create("cnn", 2, 4), train, test, progress, cancel.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(File.ReadAllBytes(trainer.LastPath!), Is.EqualTo(before));
    }

    [Test]
    public void TrainingStepReleasesTheIntermediatesOfItsGraph()
    {
        var spy = new Spy();
        var model = new Sequential(new Conv2d(1, 4, 3, 1, 1), new BatchNorm2d(4), new Qcfs(4), spy, new Flatten(), new Linear(4 * 28 * 28, 2));
        Initialization.Reference(model, 1);
        var sgd = new Sgd(model.NamedParameters(), 0.1f);
        using var batch = Loaders().Train.MakeBatch([0, 1, 2, 3], 0);
        var result = TrainingStep.Run(model, sgd, batch.Images, batch.Labels);
        Assert.That(float.IsFinite(result.Loss), Is.True);
        Assert.That(spy.Seen!.IsDisposed, Is.True, "activations go back to the pool after the step");
        Assert.That(batch.Images.IsDisposed, Is.False, "the input belongs to the caller");
        Assert.That(model.Parameters().All(p => p.Grad is not null && !p.IsDisposed), Is.True);
    }

    [Test]
    public void TrainingStepWithLabelSmoothingReportsTheSmoothedLossOfTheLogitsBeforeTheUpdate()
    {
        var model = ModelZoo.Create("cnn", 2, 4, new ModelOptions { Seed = 5 });
        var sgd = new Sgd(model.NamedParameters(), 0.1f);
        using var batch = Loaders().Train.MakeBatch([0, 1, 2, 3, 4, 5], 0);
        float[] logits;
        using (Grad.NoGrad())
        using (var y = model.Forward(batch.Images)) logits = y.ToArray();
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var result = TrainingStep.Run(model, sgd, batch.Images, batch.Labels, labelSmoothing: 0.2f);
        double expected = SpikeEngine.Tests.Kernels.ReferenceOps.SmoothedCrossEntropy(logits.Select(v => (double)v).ToArray(), batch.Labels, 6, 2, 0.2);
        Assert.That(result.Loss, Is.EqualTo(expected).Within(1e-4 * expected));
        Assert.That(model.StateDict().Any(kv => !kv.Value.ToArray().SequenceEqual(before[kv.Key])), Is.True, "the step updated the parameters");
    }

    [Test]
    public void WeightAveragingAveragesTheLastEpochsAtItsRateAndWritesTheAverage()
    {
        var (train, test) = Loaders();
        var atEpochEnd = new Dictionary<int, Dictionary<string, float[]>>();
        Module model = ModelZoo.Create("cnn", 2, 4);
        var reports = new List<TrainingProgress>();
        var progress = new SyncProgress(reports, p =>
        {
            if (p.Completed is { } e) atEpochEnd[e.Epoch] = model.NamedParameters().ToDictionary(q => q.Name, q => q.Tensor.ToArray());
        });
        var trainer = new Trainer(new TrainerOptions { Epochs = 3, LearningRate = 0.05f, SwaEpochs = 2, SwaLearningRate = 0.01f, SaveDir = _dir }, Info);
        var result = trainer.Fit(model, train, test, progress);

        Assert.That(result.Epochs.Select(e => e.LearningRate), Is.EqualTo(new[] { 0.05f, 0.01f, 0.01f }), "the averaged epochs run at the constant rate");
        Assert.That(result.Swa, Is.Not.Null);
        var pass = reports.Where(r => r.Stage is not null).ToList();
        Assert.That(pass.Select(r => r.Batch), Is.EqualTo(new[] { 20, 25 }), "the BatchNorm pass reports its progress (every 20 batches and the last)");
        Assert.That(pass.Select(r => r.Batches), Is.All.EqualTo(25));
        Assert.That(reports.IndexOf(pass[0]), Is.GreaterThan(reports.FindLastIndex(r => r.Completed is not null)), "after the last epoch");
        var swa = SafeTensors.Load(trainer.SwaPath!);
        Assert.That((swa.Metadata["swa_epochs"], swa.Metadata["epoch"]), Is.EqualTo(("2", "3")));
        Assert.That(double.Parse(swa.Metadata["accuracy"], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(result.Swa!.Top1));
        foreach (var (name, p) in model.NamedParameters())
        {
            var mean = atEpochEnd[2][name].Zip(atEpochEnd[3][name], (a, b) => (a + b) / 2).ToArray();
            Assert.That(swa.Tensors[name].ToArray(), Is.EqualTo(mean).Within(1e-6), $"{name}: the mean of epochs 2 and 3");
            Assert.That(p.ToArray(), Is.EqualTo(swa.Tensors[name].ToArray()), $"{name}: the model ends holding the average");
        }
        var last = SafeTensors.Load(trainer.LastPath!);
        Assert.That(last.Metadata[ModelMetadata.SwaCountKey], Is.EqualTo("2"));
        Assert.That(last.Tensors[ModelMetadata.SwaAveragePrefix + "layer1.0.weight"].ToArray(), Is.EqualTo(swa.Tensors["layer1.0.weight"].ToArray()));
        Assert.That(last.Tensors["layer1.0.weight"].ToArray(), Is.EqualTo(atEpochEnd[3]["layer1.0.weight"]), "last.safetensors keeps the last epoch's weights");
        Assert.That(swa.Tensors["layer1.1.running_mean"].ToArray(), Is.Not.EqualTo(last.Tensors["layer1.1.running_mean"].ToArray()),
            "the average has its own BatchNorm statistics");
        var reloaded = ModelZoo.Create("cnn", 2, 4, new ModelOptions { Initialize = false });
        reloaded.LoadStateDict(swa.Tensors, strict: true, sourceName: trainer.SwaPath!);
        Assert.That(Metrics.Evaluate(reloaded, test, SpikeEngine.Tensors.Device.Cpu).Top1, Is.EqualTo(result.Swa.Top1));
        Assert.That(result.Swa.Top1, Is.GreaterThanOrEqualTo(0.9));
    }

    [Test]
    public void AnInterruptedWeightAveragingResumesToTheSameAverage()
    {
        var (train, test) = Loaders();
        var options = new TrainerOptions { Epochs = 3, LearningRate = 0.05f, SwaEpochs = 2, SaveDir = Path.Combine(_dir, "whole") };
        var whole = new Trainer(options, Info);
        whole.Fit(ModelZoo.Create("cnn", 2, 4), train, test);

        // The same run stopped after epoch 2 (one epoch in the average), then resumed.
        var split = options with { SaveDir = Path.Combine(_dir, "split") };
        using var cancel = new CancellationTokenSource();
        var stopAfter2 = new SyncProgress([], p => { if (p.Completed?.Epoch == 2) cancel.Cancel(); });
        Assert.That(() => new Trainer(split, Info).Fit(ModelZoo.Create("cnn", 2, 4), train, test, stopAfter2, cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());
        var stopped = new Trainer(split, Info);
        Assert.That(File.Exists(stopped.SwaPath), Is.False);
        Assert.That(SafeTensors.Load(stopped.LastPath!).Metadata[ModelMetadata.SwaCountKey], Is.EqualTo("1"));

        // Another window cannot continue that average.
        Assert.That(() => new Trainer(split with { Resume = true, SwaEpochs = 3 }, Info).Fit(ModelZoo.Create("cnn", 2, 4), train, test),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("epochs 1–2").And.Message.Contains("1 epoch(s) averaged"));

        var resumed = new Trainer(split with { Resume = true }, Info);
        var result = resumed.Fit(ModelZoo.Create("cnn", 2, 4), train, test);
        Assert.That(result.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 3 }));
        var a = SafeTensors.Load(whole.SwaPath!).Tensors;
        var b = SafeTensors.Load(resumed.SwaPath!).Tensors;
        foreach (var (name, t) in a)
            Assert.That(b[name].ToArray(), Is.EqualTo(t.ToArray()).Within(1e-5), name);
    }

    [Test]
    public void WeightAveragingOptionsAreChecked()
    {
        var (train, test) = Loaders();
        Assert.That(() => new Trainer(new TrainerOptions { Epochs = 3, WarmupEpochs = 1, SwaEpochs = 3 }, Info).Fit(ModelZoo.Create("cnn", 2, 4), train, test),
            Throws.ArgumentException.With.Message.Contains("between 0 and 2"));
        Assert.That(() => new Trainer(new TrainerOptions { Epochs = 3, SwaLearningRate = 0.01f }, Info).Fit(ModelZoo.Create("cnn", 2, 4), train, test),
            Throws.ArgumentException.With.Message.Contains("needs weight-averaging epochs"));
        Assert.That(() => new Trainer(new TrainerOptions { Epochs = 3, SwaEpochs = 1, SwaLearningRate = -1f }, Info).Fit(ModelZoo.Create("cnn", 2, 4), train, test),
            Throws.ArgumentException.With.Message.Contains("positive"));
    }

    private sealed class Spy : Module
    {
        public Tensor? Seen { get; private set; }
        public override Tensor Forward(Tensor x) => Seen = x;
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(List<TrainingProgress> sink, Action<TrainingProgress>? also = null) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            sink.Add(value);
            also?.Invoke(value);
        }
    }
}
