using System.Globalization;
using SpikeEngine.Tests.Support;
using SpikeEngine.Training;

namespace SpikeEngine.Tests.Runner;

/// <summary>train --augment, --warmup_epochs and --curve, and the per-epoch training_log.csv beside the checkpoints.</summary>
[NonParallelizable]
public class TrainingScheduleTests
{
    private static string[] Common(string datadir, int epochs = 2, string lr = "0.05") =>
        ["train", "--dataset", "CIFAR10", "--datadir", datadir, "--net_arch", "resnet20", "--L", "4", "--trainann_epochs", $"{epochs}",
         "--train_limit", "64", "--limit", "32", "--batchsize", "32", "--lr", lr, "--seed", "3"];

    /// <summary>
    /// Runs <paramref name="body"/> with the CIFAR-10 folder of the test data and a temporary folder; Runner calls with
    /// --threads change the engine's thread count, which is restored afterwards.
    /// </summary>
    private static void WithCifar(Action<string, TempFolder> body)
    {
        var cifar = Path.GetDirectoryName(TestEnvironment.RequireData("cifar-10-batches-bin", "data_batch_1.bin"))!;
        using var tmp = new TempFolder();
        int threads = SpikeEngine.Backend.Backends.Cpu.Threads;
        try
        {
            body(cifar, tmp);
        }
        finally
        {
            SpikeEngine.Backend.Backends.Cpu.Threads = threads;
        }
    }

    [Test]
    public void AugmentationWarmUpAndTheCurveAreWhatTheOptionsSay()
    {
        WithCifar((cifar, tmp) =>
        {
            var basic = CliRun.Of([.. Common(cifar), "--augment", "basic", "--warmup_epochs", "1", "--savedir", tmp["basic"],
                "--curve", tmp["curve.png"], "--json", tmp["basic.json"]]);
            basic.AssertSuccess();
            Assert.That(basic.Out, Does.Contain("basic augmentation").And.Contain("1 warm-up epochs"));
            var none = CliRun.Of([.. Common(cifar), "--augment", "none", "--warmup_epochs", "1", "--label_smoothing", "0.1", "--savedir", tmp["none"]]);
            none.AssertSuccess();
            Assert.That(none.Out, Does.Contain("label smoothing 0.1"));

            var log = TrainingLog.Read(Path.Combine(tmp["basic"], "CIFAR10-resnet20-L4", TrainingLog.FileName));
            Assert.That(log.Select(r => r.Epoch), Is.EqualTo(new[] { 1, 2 }));
            Assert.That(log.Select(r => r.LearningRate), Is.EqualTo(new[] { 0.05, 0.05 }).Within(1e-7),
                "the warm-up epoch ends at the base rate, and the one cosine epoch after it stays there");
            using (var doc = JsonDocument.Parse(File.ReadAllText(tmp["basic.json"])))
                Assert.That(doc.RootElement.GetProperty("training_log").GetString(), Does.EndWith(TrainingLog.FileName));

            // A second phase from the first one's last checkpoint records where it started and the epochs before it.
            var phase2 = CliRun.Of([.. Common(cifar, epochs: 1), "--augment", "none", "--savedir", tmp["phase2"],
                "--init_from", Path.Combine(tmp["basic"], "CIFAR10-resnet20-L4", "last.safetensors")]);
            phase2.AssertSuccess();
            var meta = SafeTensors.Load(Path.Combine(tmp["phase2"], "CIFAR10-resnet20-L4", "best.safetensors")).Metadata;
            Assert.That((meta["init_from"], meta["epochs_before"], meta["epoch"]), Is.EqualTo(("last.safetensors", "2", "1")));

            // Both phases as one curve: phase 2's epoch follows phase 1's, with its own numbers.
            string log1 = Path.Combine(tmp["basic"], "CIFAR10-resnet20-L4", TrainingLog.FileName), log2 = Path.Combine(tmp["phase2"], "CIFAR10-resnet20-L4", TrainingLog.FileName);
            var curve = CliRun.Of("curve", "--out", tmp["both"], log1, log2);
            curve.AssertSuccess();
            Assert.That(curve.Out, Does.Contain("3 epochs in 2 phases (new phase at epoch 3)"));
            var both = TrainingLog.Read(Path.Combine(tmp["both"], TrainingLog.FileName));
            var second = TrainingLog.Read(log2).Single();
            Assert.That(both.Select(r => r.Epoch), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(both[2], Is.EqualTo(second with { Epoch = 3 }), "phase 2's row, renumbered");
            Assert.That(File.ReadAllBytes(Path.Combine(tmp["both"], "training_curve.png")).Take(4), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));
            CliRun.Of("curve", "--out", tmp["bad"], log1, tmp["missing.csv"]).AssertOneLineFailure("curve:", "missing.csv", "not found");
            CliRun.Of("curve", "--out", tmp["bad"], tmp.Touch("empty.csv")).AssertOneLineFailure("curve:", "empty.csv", "not a training log");
            CliRun.Of("curve", log1).AssertOneLineFailure("curve needs --out FOLDER");

            var png = File.ReadAllBytes(tmp["curve.png"]);
            Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");

            // Same seed, same images: only the augmentation differs, so the trained weights must differ.
            var a = SafeTensors.Load(Path.Combine(tmp["basic"], "CIFAR10-resnet20-L4", "last.safetensors")).Tensors["conv1.0.weight"];
            var b = SafeTensors.Load(Path.Combine(tmp["none"], "CIFAR10-resnet20-L4", "last.safetensors")).Tensors["conv1.0.weight"];
            Assert.That(a.Span.ToArray(), Is.Not.EqualTo(b.Span.ToArray()), "--augment basic changes what the network sees");
        });
    }

    [Test]
    public void AnInitialThresholdStartsEveryLambdaThereAndIsRecorded()
    {
        WithCifar((cifar, tmp) =>
        {
            // A rate so small that λ cannot leave its start by more than rounding.
            var run = CliRun.Of([.. Common(cifar, epochs: 1, lr: "1e-7"), "--initial_threshold", "2", "--savedir", tmp["run"]]);
            run.AssertSuccess();
            Assert.That(run.Out, Does.Contain("initial λ 2"));
            var file = SafeTensors.Load(Path.Combine(tmp["run"], "CIFAR10-resnet20-L4", "last.safetensors"));
            Assert.That(file.Metadata[ModelMetadata.InitialThresholdKey], Is.EqualTo("2"));
            var lambdas = file.Tensors.Where(t => t.Key.EndsWith(".up") && !t.Key.StartsWith(ModelMetadata.OptimiserPrefix)).ToList();
            Assert.That(lambdas, Has.Count.EqualTo(19));
            Assert.That(lambdas.Select(t => t.Value.Span[0]), Is.All.EqualTo(2f).Within(1e-4));

            // A checkpoint to start from brings its own λ: the option would be silently ignored, so it is refused.
            CliRun.Of([.. Common(cifar, epochs: 1), "--initial_threshold", "4", "--savedir", tmp["again"],
                "--init_from", Path.Combine(tmp["run"], "CIFAR10-resnet20-L4", "last.safetensors")])
                .AssertOneLineFailure("--initial_threshold", "last.safetensors", "its own");
            // The reference's start records nothing.
            CliRun.Of([.. Common(cifar, epochs: 1, lr: "1e-7"), "--savedir", tmp["plain"]]).AssertSuccess();
            Assert.That(SafeTensors.Load(Path.Combine(tmp["plain"], "CIFAR10-resnet20-L4", "last.safetensors")).Metadata,
                Does.Not.ContainKey(ModelMetadata.InitialThresholdKey));
        });
    }

    [Test]
    public void ThePyTorchTrainingReferenceRunsTheEnginesSchedule()
    {
        // tools/reference/train_reference.py is the PyTorch check of the engine's training dynamics: it must read the
        // same files and follow the same per-epoch rates (warm-up, then the cosine over the remaining epochs).
        TestEnvironment.RequirePythonWithTorch();
        WithCifar((cifar, tmp) =>
        {
            CliRun.Of([.. Common(cifar, epochs: 4), "--warmup_epochs", "1", "--augment", "basic", "--savedir", tmp["engine"]]).AssertSuccess();
            var script = Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "reference", "train_reference.py");
            var (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python,
                [script, "--datadir", cifar, "--epochs", "4", "--warmup_epochs", "1", "--lr", "0.05",
                 "--train_limit", "64", "--limit", "32", "--batchsize", "32", "--threads", "1", "--out", tmp["torch.csv"]], TimeSpan.FromMinutes(5));
            Assert.That(code, Is.Zero, output);
            var engine = TrainingLog.Read(Path.Combine(tmp["engine"], "CIFAR10-resnet20-L4", TrainingLog.FileName));
            var torch = File.ReadAllLines(tmp["torch.csv"]).Skip(1).Select(l => l.Split(',')).ToList();
            Assert.That(torch.Select(f => int.Parse(f[0], CultureInfo.InvariantCulture)), Is.EqualTo(engine.Select(r => r.Epoch)));
            Assert.That(torch.Select(f => double.Parse(f[1], CultureInfo.InvariantCulture)), Is.EqualTo(engine.Select(r => r.LearningRate)).Within(1e-6));
            Assert.That(torch.Select(f => double.Parse(f[2], CultureInfo.InvariantCulture)), Is.All.GreaterThan(0.5).And.LessThan(5),
                "a cross-entropy over 10 classes near ln 10 on 64 images");
        });
    }

    [Test]
    public void BadScheduleOptionsAreOneClearLine()
    {
        using var tmp = new TempFolder();
        CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--augment", "heavy"])
            .AssertOneLineFailure("--augment 'heavy'", "full, basic, none");
        CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--trainann_epochs", "2", "--warmup_epochs", "2"])
            .AssertOneLineFailure("--warmup_epochs 2", "--trainann_epochs 2");
        foreach (var bad in new[] { "1", "-0.1", "NaN" })
            CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--label_smoothing", bad])
                .AssertOneLineFailure("--label_smoothing", "[0, 1)");
        foreach (var bad in new[] { "0", "-2", "NaN", "1e40" })
            CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--initial_threshold", bad])
                .AssertOneLineFailure("--initial_threshold", "positive number");
        CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--trainann_epochs", "3", "--warmup_epochs", "1", "--swa_epochs", "3"])
            .AssertOneLineFailure("--swa_epochs 3", "between 0 and 2");
        CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--swa_lr", "0.01"])
            .AssertOneLineFailure("--swa_lr 0.01", "needs --swa_epochs");
        foreach (var bad in new[] { "0", "-2", "NaN", "1e40" })
            CliRun.Of(["train", "--dataset", "FashionMNIST", "--datadir", tmp["none"], "--trainann_epochs", "2", "--swa_epochs", "1", "--swa_lr", bad])
                .AssertOneLineFailure("--swa_lr", "positive learning rate");
    }

    [Test]
    public void WeightAveragingWritesTheAverageBesideTheCheckpointsAndReportsIt()
    {
        WithCifar((cifar, tmp) =>
        {
            var run = CliRun.Of([.. Common(cifar, epochs: 3), "--augment", "basic", "--swa_epochs", "2", "--swa_lr", "0.01",
                "--savedir", tmp["run"], "--json", tmp["run.json"], "--curve", tmp["run.png"]]);
            run.AssertSuccess();
            Assert.That(run.Out, Does.Contain("weight averaging over the last 2 epochs at lr 0.01").And.Contain("Weight average of epochs 2–3"));
            string folder = Path.Combine(tmp["run"], "CIFAR10-resnet20-L4");
            Assert.That(TrainingLog.Read(Path.Combine(folder, TrainingLog.FileName)).Select(r => r.LearningRate), Is.EqualTo(new[] { 0.05, 0.01, 0.01 }).Within(1e-7));
            var swa = SafeTensors.Load(Path.Combine(folder, TrainingCheckpoint.SwaFile));
            using var doc = JsonDocument.Parse(File.ReadAllText(tmp["run.json"]));
            Assert.That(doc.RootElement.GetProperty("swa_checkpoint").GetString(), Does.EndWith(TrainingCheckpoint.SwaFile));
            Assert.That(doc.RootElement.GetProperty("swa_accuracy").GetDouble(),
                Is.EqualTo(double.Parse(swa.Metadata["accuracy"], CultureInfo.InvariantCulture)).Within(1e-9));
            Assert.That(swa.Metadata[ModelMetadata.SwaEpochsKey], Is.EqualTo("2"));
            Assert.That(File.ReadAllBytes(tmp["run.png"]).Take(4), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));

            // curve finds the average beside a phase's log and names it.
            var curve = CliRun.Of("curve", "--out", tmp["curve"], Path.Combine(folder, TrainingLog.FileName));
            curve.AssertSuccess();
            Assert.That(curve.Out, Does.Contain($"weight average up to epoch 3 {double.Parse(swa.Metadata["accuracy"], CultureInfo.InvariantCulture) * 100:F2} %"));

            // The average is a model like any other: eval reads it and finds the accuracy the trainer recorded.
            var eval = CliRun.Of("eval", "--load_model_name", Path.Combine(folder, TrainingCheckpoint.SwaFile), "--dataset", "CIFAR10",
                "--datadir", cifar, "--limit", "32", "--json", tmp["eval.json"]);
            eval.AssertSuccess();
            using var evalDoc = JsonDocument.Parse(File.ReadAllText(tmp["eval.json"]));
            Assert.That(evalDoc.RootElement.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(doc.RootElement.GetProperty("swa_accuracy").GetDouble()).Within(1e-9));
        });
    }
}
