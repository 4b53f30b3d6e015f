using System.Buffers.Binary;
using System.Text.Json;
using NUnit.Framework;
using SpikeEngine.IO;
using SpikeEngine.Runner.Cli;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Runner;

/// <summary>The CLI layer: options, validation, what reaches the engine, reports (stdout, JSON, PNG).</summary>
public class CliTests
{
    private static readonly string[] ReferenceSpellings =
    [
        "--dataset", "--datadir", "--train_dir", "--test_dir", "--savedir", "--load_model_name", "--trainann_epochs",
        "--net_arch", "--device", "--batchsize", "--L", "--sim_len", "--presim_len", "--lr", "--wd", "--direct_training",
        "--save_model", "--seed", "--CUDA_VISIBLE_DEVICE", "--CUDA_VISIBLE_DEVICES", "--download", "--limit", "--json",
        "--plot", "--threads", "--resume", "--iterations",
    ];

    [Test]
    public void HelpExplainsEveryOptionAndCommand()
    {
        var run = CliRun.Of(new RecordingEngine(), "--help");
        run.AssertSuccess();
        foreach (var option in ReferenceSpellings) Assert.That(run.Out, Does.Contain(option + " ").Or.Contain(option + ","), option);
        foreach (var command in new[] { "train", "eval", "snn", "diagnose", "info" }) Assert.That(run.Out, Does.Contain(command));
        var snnHelp = CliRun.Of(new RecordingEngine(), "snn", "--help");
        Assert.That(snnHelp.Out, Does.Contain("--presim_len").And.Contain("--sim_len").And.Contain("--plot"));
    }

    [Test]
    public void SnnPassesOptionsToTheEngineAndWritesValidJson()
    {
        using var tmp = new TempFolder();
        tmp.Touch("data/cifar-10-batches-bin/test_batch.bin");
        var ckpt = tmp.Touch("model.safetensors");
        var engine = new RecordingEngine();
        var json = tmp["out/result.json"];
        var run = CliRun.Of(engine, "snn", "--dataset", "CIFAR10", "--datadir", tmp["data"], "--load_model_name", tmp["model"],
            "--net_arch", "resnet20", "--presim_len", "4", "--sim_len", "8", "--batchsize", "50", "--limit", "100",
            "--threads", "1", "--iterations", "2", "--json", json);
        run.AssertSuccess();

        Assert.That(engine.Loads.Single().Path, Is.EqualTo(ckpt), "the reference form without extension finds NAME.safetensors");
        Assert.That(engine.ThreadsUsed, Is.EqualTo(1));
        Assert.That(engine.DeviceUsed, Is.EqualTo(Device.Cpu));
        var data = engine.DataRequests.Single();
        Assert.That(data.Limit, Is.EqualTo(100));
        Assert.That(data.Folder, Is.EqualTo(tmp["data/cifar-10-batches-bin"]));
        Assert.That(engine.SnnRequests.Single(), Is.EqualTo(new SpikeEngine.Runner.Engine.SnnRequest(4, 8, 2, 50)));
        Assert.That(run.Out, Does.Contain("ANN accuracy: 90.00 %"));

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("dataset").GetString(), Is.EqualTo("CIFAR10"));
        Assert.That(root.GetProperty("net_arch").GetString(), Is.EqualTo("resnet20"));
        Assert.That(root.GetProperty("samples").GetInt32(), Is.EqualTo(100));
        Assert.That(root.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(0.9));
        Assert.That(root.GetProperty("presim_len").GetInt32(), Is.EqualTo(4));
        Assert.That(root.GetProperty("sim_len").GetInt32(), Is.EqualTo(8));
        var perStep = root.GetProperty("accuracy_per_step").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.That(perStep, Has.Length.EqualTo(8));
        Assert.That(perStep, Is.All.InRange(0.0, 1.0));
        Assert.That(perStep[7], Is.EqualTo((0.9 - 0.1 / 5) * 8 / 9).Within(1e-6));
        Assert.That(root.GetProperty("seconds").GetDouble(), Is.EqualTo(2.0));
        Assert.That(root.GetProperty("images_per_second").GetDouble(), Is.EqualTo(50.0));
        Assert.That(root.GetProperty("device").GetString(), Is.EqualTo("cpu"));
    }

    [Test]
    public void PlotIsARealPngOfTheRequestedSizeWithPlainAndCosRuns()
    {
        using var tmp = new TempFolder();
        tmp.Touch("data/test_batch.bin");
        var ckpt = tmp.Touch("m.pth");
        var engine = new RecordingEngine();
        var png = tmp["plots/acc.png"];
        var run = CliRun.Of(engine, "snn", "--dataset", "cifar10", "--datadir", tmp["data"], "--load_model_name", ckpt,
            "--presim_len", "4", "--sim_len", "6", "--plot", png, "--plot_size", "640x360");
        run.AssertSuccess();
        Assert.That(engine.SnnRequests.Select(r => r.PresimLen), Is.EquivalentTo(new[] { 4, 0 }), "COS run and the plain run for the plot");

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
        tmp.Touch("data/cifar-100-binary/test.bin");
        var engine = new RecordingEngine { CheckpointArch = "vgg16" };
        // The reference's second usage line (epochs cut to 3), data and savedir pointed at the temp folder.
        var run = CliRun.Of(engine, "--dataset", "CIFAR100", "--net_arch", "vgg16", "--L", "4", "--trainann_epochs", "3",
            "--batchsize", "100", "--presim_len", "4", "--sim_len", "32", "--direct_training", "--savedir", tmp["saved"],
            "--datadir", tmp["data"]);
        run.AssertSuccess();
        var t = engine.TrainRequest!;
        Assert.That(t.Spec, Is.EqualTo(new SpikeEngine.Runner.Engine.ModelSpec("vgg16", 100, 4, "CIFAR100")));
        Assert.That((t.Epochs, t.BatchSize, t.LearningRate, t.WeightDecay, t.Seed), Is.EqualTo((3, 100, 0.02, 5e-4, 42)));
        Assert.That(engine.Loads.Single().Path, Is.EqualTo(Path.Combine(tmp["saved"], "CIFAR100-vgg16-L4", "best.safetensors")));
        Assert.That(engine.SnnRequests.Single(), Is.EqualTo(new SpikeEngine.Runner.Engine.SnnRequest(4, 32, 1, 100)));
        Assert.That(run.Out, Does.Contain("epoch 3/3").And.Contain("ANN accuracy").And.Contain("32"));
    }

    [Test]
    public void ReferenceLinesFailClearlyWhenDataOrModelIsMissing()
    {
        using var tmp = new TempFolder();
        // Line 1: ImageNet with a model that is not here (real engine).
        var imagenet = CliRun.Of(null, "--dataset", "ImageNet", "--datadir", tmp["nothing"], "--load_model_name", tmp["vgg16_imagenet"],
            "--net_arch", "vgg16", "--batchsize", "5", "--L", "16", "--presim_len", "8", "--sim_len", "16", "--device", "cpu");
        imagenet.AssertOneLineFailure("vgg16_imagenet");
        // Line 2: CIFAR-100 training without the data.
        var cifar = CliRun.Of(null, "--dataset", "CIFAR100", "--net_arch", "vgg16", "--L", "4", "--trainann_epochs", "300",
            "--batchsize", "100", "--presim_len", "4", "--sim_len", "32", "--direct_training", "--savedir", tmp["saved"],
            "--datadir", tmp["nothing"]);
        cifar.AssertOneLineFailure("CIFAR100 data not found", "--download", "cifar-100-binary");
    }

    [Test]
    public void TrainingInterruptedKeepsTheLastCheckpointAndResumeIsPassedOn()
    {
        using var tmp = new TempFolder();
        tmp.Touch("fm/t10k-images-idx3-ubyte.gz");
        var engine = new RecordingEngine { CancelTraining = true };
        var run = CliRun.Of(engine, "train", "--dataset", "FashionMNIST", "--datadir", tmp["fm"], "--net_arch", "cnn",
            "--trainann_epochs", "5", "--savedir", tmp["s"], "--json", tmp["train.json"]);
        Assert.That(run.ExitCode, Is.EqualTo(Commands.Interrupted));
        Assert.That(run.Err, Does.Contain("last good checkpoint kept").And.Contain("--resume"));
        Assert.That(File.ReadAllText(tmp["s/FashionMNIST-cnn-L4/last.safetensors"]), Is.EqualTo("epoch 1"));
        using (var doc = JsonDocument.Parse(File.ReadAllText(tmp["train.json"])))
            Assert.That(doc.RootElement.GetProperty("cancelled").GetBoolean(), Is.True);

        var resume = new RecordingEngine();
        CliRun.Of(resume, "train", "--dataset", "FashionMNIST", "--datadir", tmp["fm"], "--net_arch", "cnn",
            "--trainann_epochs", "5", "--savedir", tmp["s"], "--resume").AssertSuccess();
        Assert.That(resume.TrainRequest!.Resume, Is.True);
    }

    [Test]
    public void EvalAndDiagnoseReport()
    {
        using var tmp = new TempFolder();
        tmp.Touch("data/test_batch.bin");
        var ckpt = tmp.Touch("m.safetensors");
        var eval = CliRun.Of(new RecordingEngine(), "eval", "--load_model_name", ckpt, "--datadir", tmp["data"], "--json", tmp["e.json"]);
        eval.AssertSuccess();
        Assert.That(eval.Out, Does.Contain("ANN accuracy: 90.00 %"));
        using (var doc = JsonDocument.Parse(File.ReadAllText(tmp["e.json"])))
            Assert.That(doc.RootElement.GetProperty("dataset").GetString(), Is.EqualTo("CIFAR10"), "data set taken from the checkpoint");

        var diag = CliRun.Of(new RecordingEngine(), "diagnose", "--load_model_name", ckpt, "--datadir", tmp["data"],
            "--sim_len", "8", "--json", tmp["d.json"]);
        diag.AssertSuccess();
        Assert.That(diag.Out, Does.Contain("conv1.2").And.Contain("1/10/100/12/2").And.Contain("0.9 pJ"));
        using var d = JsonDocument.Parse(File.ReadAllText(tmp["d.json"]));
        Assert.That(d.RootElement.GetProperty("layers").GetArrayLength(), Is.EqualTo(2));
        Assert.That(d.RootElement.GetProperty("layers")[0].GetProperty("offset_histogram_cos")[2].GetInt64(), Is.EqualTo(120));
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
        var run = CliRun.Of(null, "info", path, "--json", tmp["i.json"]);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("conv1.2").And.Contain("3.25").And.Contain("cnn"));
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["i.json"]));
        Assert.That(doc.RootElement.GetProperty("parameters").GetInt64(), Is.EqualTo(18 + 2 + 2 + 1), "running stats are not parameters");
        Assert.That(doc.RootElement.GetProperty("entries").GetInt32(), Is.EqualTo(7));
        Assert.That(doc.RootElement.GetProperty("L").GetInt32(), Is.EqualTo(4));
        Assert.That(doc.RootElement.GetProperty("lambdas")[0].GetProperty("lambda").GetDouble(), Is.EqualTo(3.25));
    }
}

/// <summary>Each bad input: non-zero exit, one clear line, no stack trace.</summary>
public class CliBadInputTests
{
    [Test]
    public void UnknownDatasetListsTheValidOnes() =>
        CliRun.Of(new RecordingEngine(), "snn", "--dataset", "SVHN", "--load_model_name", "x")
            .AssertOneLineFailure("Unknown --dataset 'SVHN'", "CIFAR10, CIFAR100, ImageNet, FashionMNIST, MNIST");

    [Test]
    public void UnknownArchitectureListsTheValidOnes() =>
        CliRun.Of(new RecordingEngine(), "train", "--net_arch", "vgg17")
            .AssertOneLineFailure("Unknown --net_arch 'vgg17'", "vgg11, vgg13, vgg16, vgg19, resnet18, resnet20, resnet34, cnn");

    [Test]
    public void MissingDataFolderSaysHowToGetTheData()
    {
        using var tmp = new TempFolder();
        var ckpt = tmp.Touch("m.safetensors");
        CliRun.Of(new RecordingEngine(), "eval", "--dataset", "MNIST", "--datadir", tmp["none"], "--load_model_name", ckpt)
            .AssertOneLineFailure("MNIST data not found", tmp["none"], "--download");
        CliRun.Of(new RecordingEngine(), "eval", "--dataset", "ImageNet", "--test_dir", tmp["val"], "--load_model_name", ckpt)
            .AssertOneLineFailure("ImageNet data not found", "image-net.org");
    }

    [Test]
    public void CheckpointOfAnotherArchitectureIsRefused()
    {
        using var tmp = new TempFolder();
        tmp.Touch("data/test_batch.bin");
        var ckpt = tmp.Touch("r20.safetensors");
        CliRun.Of(new RecordingEngine { CheckpointArch = "resnet20" }, "snn", "--load_model_name", ckpt, "--net_arch", "vgg16",
            "--datadir", tmp["data"]).AssertOneLineFailure("resnet20", "vgg16");
    }

    [TestCase("--presim_len", "-1", "must be 0")]
    [TestCase("--sim_len", "0", "at least 1")]
    [TestCase("--batchsize", "0", "at least 1")]
    [TestCase("--limit", "0", "at least 1")]
    [TestCase("--L", "0", "between 1 and 1024")]
    [TestCase("--iterations", "0", "at least 1")]
    [TestCase("--threads", "0", "at least 1")]
    public void OutOfRangeNumbersAreRefusedBeforeAnyWork(string option, string value, string rule)
    {
        var engine = new RecordingEngine();
        CliRun.Of(engine, "snn", option, value, "--load_model_name", "x").AssertOneLineFailure(option, rule);
        Assert.That(engine.DeviceUsed, Is.Null);
    }

    [Test]
    public void UnparsableValuesAndUnknownOptionsAreOneLine()
    {
        CliRun.Of(new RecordingEngine(), "snn", "--sim_len", "many").AssertOneLineFailure("many");
        CliRun.Of(new RecordingEngine(), "--no_such_option").AssertOneLineFailure("--no_such_option");
        CliRun.Of(new RecordingEngine(), "snn", "--plot", "x.png", "--plot_size", "big", "--load_model_name", "x").AssertOneLineFailure("--plot_size");
    }

    [Test]
    public void UnavailableCudaDeviceIsOneClearLine()
    {
        try
        {
            SpikeEngine.Backend.Backends.For(Device.Cuda(0));
            Assert.Ignore("a CUDA device works here; the unavailable-device path needs a machine without one");
        }
        catch (Exception e) when (e is not IgnoreException) { /* expected here: no GPU */ }
        CliRun.Of(null, "eval", "--device", "cuda", "--load_model_name", "x").AssertOneLineFailure("--device cuda:0 is not available");
        CliRun.Of(null, "eval", "--device", "tpu", "--load_model_name", "x").AssertOneLineFailure("--device", "cpu, cuda or cuda:N");
    }

    [Test]
    public void MissingCheckpointNamesTheFilesTried()
    {
        using var tmp = new TempFolder();
        CliRun.Of(new RecordingEngine(), "snn", "--load_model_name", tmp["absent"])
            .AssertOneLineFailure("Checkpoint not found", "absent.pth", "absent.safetensors");
        CliRun.Of(new RecordingEngine(), "snn").AssertOneLineFailure("needs a checkpoint");
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
