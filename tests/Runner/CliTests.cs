using System.Buffers.Binary;
using SpikeEngine.Runner.Cli;

namespace SpikeEngine.Tests.Runner;

/// <summary>The CLI layer over the real engine: options reach the engine, results and files are what the engine computes.</summary>
[NonParallelizable]
public class CliTests
{
    private static readonly string[] ReferenceSpellings =
    [
        "--dataset", "--datadir", "--train_dir", "--test_dir", "--savedir", "--load_model_name", "--trainann_epochs",
        "--net_arch", "--device", "--batchsize", "--L", "--sim_len", "--presim_len", "--lr", "--wd", "--direct_training",
        "--save_model", "--seed", "--CUDA_VISIBLE_DEVICE", "--CUDA_VISIBLE_DEVICES", "--download", "--limit", "--json",
        "--plot", "--threads", "--resume", "--iterations", "--train_limit", "--predictions",
    ];

    [SetUp]
    public void RequireBundledAssets() => Bundled.Require();

    [Test]
    public void HelpExplainsEveryOptionAndCommand()
    {
        var run = CliRun.Of("--help");
        run.AssertSuccess();
        foreach (var option in ReferenceSpellings) Assert.That(run.Out, Does.Contain(option + " ").Or.Contain(option + ","), option);
        foreach (var command in new[] { "train", "eval", "snn", "diagnose", "info" }) Assert.That(run.Out, Does.Contain(command));
        var snnHelp = CliRun.Of("snn", "--help");
        Assert.That(snnHelp.Out, Does.Contain("--presim_len").And.Contain("--sim_len").And.Contain("--plot").And.Contain("--predictions"));
        Assert.That(CliRun.Of("eval", "--help").Out, Does.Contain("--predictions"));
        Assert.That(CliRun.Of("train", "--help").Out, Does.Contain("--train_limit"));
    }

    /// <summary>
    /// snn with every option that shapes the run: the per-step accuracies equal a simulation written here from the
    /// engine's primitives (load, convert, simulate ρ = 4, T = 8, k = 2 on the first 100 images in batches of 50).
    /// </summary>
    [Test]
    public void SnnPassesOptionsToTheEngineAndWritesValidJson()
    {
        using var tmp = new TempFolder();
        File.Copy(Bundled.Model, tmp["model.safetensors"]);
        var json = tmp["out/result.json"];
        int threads = Backends.Cpu.Threads;
        CliRun run;
        try
        {
            run = CliRun.Of("snn", "--dataset", "FashionMNIST", "--datadir", Bundled.Data, "--load_model_name", tmp["model"],
                "--net_arch", "cnn", "--presim_len", "4", "--sim_len", "8", "--batchsize", "50", "--limit", "100",
                "--threads", "1", "--iterations", "2", "--json", json);
            Assert.That(Backends.Cpu.Threads, Is.EqualTo(1), "--threads reaches the CPU backend");
        }
        finally { Backends.Cpu.Threads = threads; }
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("model.safetensors"), "the reference form without extension finds NAME.safetensors");

        // The same numbers by hand.
        var checkpoint = Checkpoints.Load(Bundled.Model);
        var ann = ModelZoo.Create("cnn", 10, 4, new ModelOptions { Initialize = false, InputChannels = 1 });
        ann.LoadStateDict(checkpoint.Tensors);
        ann.Eval();
        var snn = SpikingNetwork.Convert(ann);
        var set = Bundled.TestSet().Take(100);
        var loader = new DataLoader(set, 50, Normalization.FashionMnist);
        long annHits = 0;
        var hits = new long[8];
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                using (Grad.NoGrad())
                using (var logits = ann.Forward(batch.Images))
                    annHits += SpikingNetwork.PredictionsPerStep(logits, batch.Size, 1)[0].Zip(batch.Labels).Count(p => p.First == p.Second);
                using var outputs = snn.Simulate(batch.Images, new SimulationSettings(8, 4, 2));
                var per = SpikingNetwork.PredictionsPerStep(outputs, batch.Size, 8);
                for (int t = 0; t < 8; t++) hits[t] += per[t].Zip(batch.Labels).Count(p => p.First == p.Second);
            }

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("command").GetString(), Is.EqualTo("snn"));
        Assert.That(root.GetProperty("dataset").GetString(), Is.EqualTo("FashionMNIST"));
        Assert.That(root.GetProperty("net_arch").GetString(), Is.EqualTo("cnn"));
        Assert.That(root.GetProperty("L").GetInt32(), Is.EqualTo(4));
        Assert.That(root.GetProperty("samples").GetInt32(), Is.EqualTo(100));
        Assert.That(root.GetProperty("presim_len").GetInt32(), Is.EqualTo(4));
        Assert.That(root.GetProperty("sim_len").GetInt32(), Is.EqualTo(8));
        Assert.That(root.GetProperty("iterations").GetInt32(), Is.EqualTo(2));
        Assert.That(root.GetProperty("batchsize").GetInt32(), Is.EqualTo(50));
        Assert.That(root.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(annHits / 100.0));
        var perStep = root.GetProperty("accuracy_per_step").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.That(perStep, Is.EqualTo(hits.Select(h => h / 100.0).ToArray()));
        double seconds = root.GetProperty("seconds").GetDouble();
        Assert.That(root.GetProperty("images_per_second").GetDouble(), Is.EqualTo(100 / seconds).Within(1e-3).Percent);
        Assert.That(root.GetProperty("latency_per_step_ms").GetDouble(), Is.EqualTo(seconds * 1000 / (2 * 8)).Within(1e-3).Percent);
        Assert.That(root.GetProperty("device").GetString(), Is.EqualTo("cpu"));
        Assert.That(root.TryGetProperty("plain_accuracy_per_step", out _), Is.False, "no plain run without --plot");
    }

    [Test]
    public void PlotIsARealPngOfTheRequestedSizeWithPlainAndCosRuns()
    {
        using var tmp = new TempFolder();
        var png = tmp["plots/acc.png"];
        var run = CliRun.Of("snn", "--dataset", "fashion-mnist", "--datadir", Bundled.Data, "--load_model_name", Bundled.Model,
            "--presim_len", "4", "--sim_len", "6", "--limit", "50", "--plot", png, "--plot_size", "640x360", "--json", tmp["s.json"]);
        run.AssertSuccess();
        using (var doc = JsonDocument.Parse(File.ReadAllText(tmp["s.json"])))
            Assert.That(doc.RootElement.GetProperty("plain_accuracy_per_step").GetArrayLength(), Is.EqualTo(6), "the plain run for the plot");

        var bytes = File.ReadAllBytes(png);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }));
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 12, 4), Is.EqualTo("IHDR"));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), Is.EqualTo(640));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)), Is.EqualTo(360));
        var decoded = StbImageSharp.ImageResult.FromMemory(bytes, StbImageSharp.ColorComponents.RedGreenBlue);
        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((640, 360)));
        Assert.That(decoded.Data.Distinct().Count(), Is.GreaterThan(2), "the image has content, not one flat colour");
    }

    [Test]
    public void ReferenceTrainingLineTrainsThenRunsTheSnn()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 128, test: 64);
        // The reference's second usage line (a small network, one epoch, tiny data), data and savedir in the temp folder.
        var run = CliRun.Of("--dataset", "FashionMNIST", "--net_arch", "cnn", "--L", "4", "--trainann_epochs", "1",
            "--batchsize", "64", "--presim_len", "4", "--sim_len", "8", "--direct_training", "--savedir", tmp["saved"],
            "--datadir", tmp["data"], "--json", tmp["r.json"]);
        run.AssertSuccess();
        var best = Path.Combine(tmp["saved"], "FashionMNIST-cnn-L4", "best.safetensors");
        Assert.That(File.Exists(best), Is.True);
        Assert.That(run.Out, Does.Contain("epoch 1/1").And.Contain("ANN accuracy").And.Contain($"from {best}"));
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["r.json"]));
        Assert.That(doc.RootElement.GetProperty("command").GetString(), Is.EqualTo("snn"), "the SNN report follows the training");
        Assert.That(doc.RootElement.GetProperty("samples").GetInt32(), Is.EqualTo(64));
        Assert.That(doc.RootElement.GetProperty("accuracy_per_step").GetArrayLength(), Is.EqualTo(8));
    }

    [Test]
    public void ReferenceLinesFailClearlyWhenDataOrModelIsMissing()
    {
        using var tmp = new TempFolder();
        // Line 1: ImageNet with a model that is not here.
        var imagenet = CliRun.Of("--dataset", "ImageNet", "--datadir", tmp["nothing"], "--load_model_name", tmp["vgg16_imagenet"],
            "--net_arch", "vgg16", "--batchsize", "5", "--L", "16", "--presim_len", "8", "--sim_len", "16", "--device", "cpu");
        imagenet.AssertOneLineFailure("ImageNet data not found", "image-net.org");
        var imagenetWithData = CliRun.Of("--dataset", "ImageNet", "--test_dir", tmp.Touch("val/n01440764/a.JPEG").Replace("/n01440764/a.JPEG", ""),
            "--load_model_name", tmp["vgg16_imagenet"], "--net_arch", "vgg16", "--batchsize", "5", "--L", "16", "--presim_len", "8", "--sim_len", "16");
        imagenetWithData.AssertOneLineFailure("Checkpoint not found", "vgg16_imagenet.pth");
        // Line 2: CIFAR-100 training without the data.
        var cifar = CliRun.Of("--dataset", "CIFAR100", "--net_arch", "vgg16", "--L", "4", "--trainann_epochs", "300",
            "--batchsize", "100", "--presim_len", "4", "--sim_len", "32", "--direct_training", "--savedir", tmp["saved"],
            "--datadir", tmp["nothing"]);
        cifar.AssertOneLineFailure("CIFAR100 data not found", "--download", "cifar-100-binary");
    }

    [Test]
    public void DiagnoseReportsEveryQcfsLayer()
    {
        using var tmp = new TempFolder();
        var diag = CliRun.Of("diagnose", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "20",
            "--sim_len", "8", "--json", tmp["d.json"]);
        diag.AssertSuccess();
        Assert.That(diag.Out, Does.Contain("layer1.2").And.Contain("layer2.2").And.Contain("0.9 pJ"));
        using var d = JsonDocument.Parse(File.ReadAllText(tmp["d.json"]));
        var root = d.RootElement;
        Assert.That(root.GetProperty("layers").GetArrayLength(), Is.EqualTo(2));
        Assert.That(root.GetProperty("offset_histogram_bins").GetArrayLength(), Is.EqualTo(5));
        foreach (var layer in root.GetProperty("layers").EnumerateArray())
        {
            long neurons = layer.GetProperty("neurons").GetInt64();
            Assert.That(layer.GetProperty("offset_histogram_cos").EnumerateArray().Sum(v => v.GetInt64()), Is.EqualTo(neurons * 20));
        }
    }

    [Test]
    public void InfoSummarisesASafetensorsCheckpoint()
    {
        using var tmp = new TempFolder();
        var path = tmp["tiny.safetensors"];
        var tensors = new Dictionary<string, Tensor>
        {
            ["conv1.0.weight"] = Tensor.FromArray(new float[2 * 1 * 3 * 3], new Shape(2, 1, 3, 3)),
            ["conv1.1.weight"] = Tensor.FromArray([1f, 1f], new Shape(2)),
            ["conv1.1.bias"] = Tensor.FromArray([0f, 0f], new Shape(2)),
            ["conv1.1.running_mean"] = Tensor.FromArray([0f, 0f], new Shape(2)),
            ["conv1.1.running_var"] = Tensor.FromArray([1f, 1f], new Shape(2)),
            ["conv1.1.num_batches_tracked"] = Tensor.FromArray([7f], new Shape()),
            ["conv1.2.up"] = Tensor.FromArray([3.25f], new Shape(1)),
        };
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["arch"] = "cnn", ["classes"] = "10", ["L"] = "4", ["dataset"] = "FashionMNIST" });
        var run = CliRun.Of("info", path, "--json", tmp["i.json"]);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("conv1.2").And.Contain("3.25").And.Contain("cnn"));
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["i.json"]));
        Assert.That(doc.RootElement.GetProperty("parameters").GetInt64(), Is.EqualTo(18 + 2 + 2 + 1), "running stats are not parameters");
        Assert.That(doc.RootElement.GetProperty("entries").GetInt32(), Is.EqualTo(7));
        Assert.That(doc.RootElement.GetProperty("L").GetInt32(), Is.EqualTo(4));
        Assert.That(doc.RootElement.GetProperty("format").GetString(), Is.EqualTo("safetensors"));
        Assert.That(doc.RootElement.GetProperty("lambdas")[0].GetProperty("lambda").GetDouble(), Is.EqualTo(3.25));
        Assert.That(doc.RootElement.GetProperty("metadata").GetProperty("dataset").GetString(), Is.EqualTo("FashionMNIST"));
    }
}

/// <summary>Each bad input: non-zero exit, one clear line, no stack trace.</summary>
public class CliBadInputTests
{
    [Test]
    public void UnknownDatasetListsTheValidOnes() =>
        CliRun.Of("snn", "--dataset", "SVHN", "--load_model_name", "x")
            .AssertOneLineFailure("Unknown --dataset 'SVHN'", "CIFAR10, CIFAR100, ImageNet, FashionMNIST, MNIST");

    [Test]
    public void UnknownArchitectureListsTheValidOnes() =>
        CliRun.Of("train", "--net_arch", "vgg17")
            .AssertOneLineFailure("Unknown --net_arch 'vgg17'", "vgg11, vgg13, vgg16, vgg19, resnet18, resnet20, resnet34, cnn");

    [Test]
    public void MissingDataFolderSaysHowToGetTheData()
    {
        using var tmp = new TempFolder();
        CliRun.Of("eval", "--dataset", "MNIST", "--datadir", tmp["none"], "--load_model_name", Bundled.Model)
            .AssertOneLineFailure("MNIST data not found", tmp["none"], "--download");
        CliRun.Of("eval", "--dataset", "ImageNet", "--test_dir", tmp["val"], "--load_model_name", Bundled.Model)
            .AssertOneLineFailure("ImageNet data not found", "image-net.org");
    }

    [Test]
    public void CheckpointOfAnotherArchitectureIsRefused() =>
        CliRun.Of("snn", "--load_model_name", Bundled.Model, "--net_arch", "vgg16", "--datadir", Bundled.Data, "--limit", "10")
            .AssertOneLineFailure("cnn", "vgg16");

    [Test]
    public void APthWithoutLNeedsTheOption()
    {
        var pth = Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "checkpoints", "resnet20_mixed_fp16.pth");
        CliRun.Of("eval", "--load_model_name", pth, "--datadir", Bundled.Data)
            .AssertOneLineFailure("does not record the QCFS level L", "--L");
    }

    [TestCase("--presim_len", "-1", "must be 0")]
    [TestCase("--sim_len", "0", "at least 1")]
    [TestCase("--batchsize", "0", "at least 1")]
    [TestCase("--limit", "0", "at least 1")]
    [TestCase("--L", "0", "between 1 and 1024")]
    [TestCase("--iterations", "0", "at least 1")]
    [TestCase("--threads", "0", "at least 1")]
    public void OutOfRangeNumbersAreRefusedBeforeAnyWork(string option, string value, string rule) =>
        CliRun.Of("snn", option, value, "--load_model_name", "x").AssertOneLineFailure(option, rule);

    [Test]
    public void OutOfRangeTrainLimitIsRefused() =>
        CliRun.Of("train", "--train_limit", "0").AssertOneLineFailure("--train_limit", "at least 1");

    [Test]
    public void UnparsableValuesAndUnknownOptionsAreOneLine()
    {
        CliRun.Of("snn", "--sim_len", "many").AssertOneLineFailure("many");
        CliRun.Of("--no_such_option").AssertOneLineFailure("--no_such_option");
        CliRun.Of("snn", "--plot", "x.png", "--plot_size", "big", "--load_model_name", "x").AssertOneLineFailure("--plot_size");
    }

    /// <summary>Without a GPU --device cuda is unavailable; where cuda:0 works, a device ordinal past the machine's is (runs on both).</summary>
    [Test]
    public void UnavailableCudaDeviceIsOneClearLine()
    {
        string device = SpikeEngine.Backend.Cuda.CudaBackend.UnavailableReason() is null
            ? $"cuda:{SpikeEngine.Tests.Gpu.CudaBuildTests.AbsentOrdinal}" : "cuda:0";
        CliRun.Of("eval", "--device", device, "--load_model_name", "x").AssertOneLineFailure($"--device {device} is not available", "Use --device cpu");
        CliRun.Of("eval", "--device", "tpu", "--load_model_name", "x").AssertOneLineFailure("--device", "cpu, cuda or cuda:N");
    }

    [Test]
    public void MissingCheckpointNamesTheFilesTried()
    {
        using var tmp = new TempFolder();
        CliRun.Of("snn", "--load_model_name", tmp["absent"])
            .AssertOneLineFailure("Checkpoint not found", "absent.pth", "absent.safetensors");
        CliRun.Of("snn").AssertOneLineFailure("needs a checkpoint");
    }
}

public class ReadingTests
{
    [Test]
    public void ReadingComparesCosWithPlainAndTheAnn()
    {
        var text = EmbeddedDefault.Reading(0.89, [0.10, 0.60, 0.87, 0.86, 0.86, 0.86, 0.86, 0.86], [0.40, 0.75, 0.885, 0.88, 0.88, 0.88, 0.88, 0.88]);
        Assert.That(text, Does.Contain("COS beats plain conversion at every T").And.Contain("largest gain 30.0 points")
            .And.Contain("within 1 point of the ANN from T = 3"));
        var worse = EmbeddedDefault.Reading(0.9, [0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8], [0.4, 0.6, 0.75, 0.85, 0.7, 0.7, 0.7, 0.7]);
        Assert.That(worse, Does.Contain("COS beats plain conversion at T = 4 (largest gain 5.0 points)").And.Contain("5.0 points below the ANN up to T = 8"));
    }
}
