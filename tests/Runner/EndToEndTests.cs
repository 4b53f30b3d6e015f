using System.Buffers.Binary;
using SpikeEngine.Runner.Cli;

namespace SpikeEngine.Tests.Runner;

/// <summary>
/// Each command end to end through the real engine on small data: the bundled model and test set
/// (cut with --limit), and a tiny Fashion-MNIST made from the bundled test images for training.
/// </summary>
[NonParallelizable]
public class EndToEndTests
{
    private static string BundledModel => Bundled.Model;
    private static string BundledData => Bundled.Data;

    [SetUp]
    public void RequireBundledAssets() => Bundled.Require();

    [Test]
    public void EmbeddedDefaultPrintsTheTableAndReading()
    {
        using var tmp = new TempFolder();
        var run = CliRun.Of("--limit", "200", "--json", tmp["d.json"]);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("ANN").And.Contain("plain conversion").And.Contain("COS (ρ = 4)")
            .And.Contain("T = 8").And.Contain("Latency per time step").And.Contain("Reading:"));
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["d.json"]));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("samples").GetInt32(), Is.EqualTo(200));
        Assert.That(root.GetProperty("ann_accuracy").GetDouble(), Is.GreaterThan(0.7), "the bundled model is trained");
        Assert.That(root.GetProperty("accuracy_per_step").GetArrayLength(), Is.EqualTo(8));
        Assert.That(root.GetProperty("plain_accuracy_per_step").GetArrayLength(), Is.EqualTo(8));
        // Accuracies are whole images over 200: multiples of 1/200.
        foreach (var a in root.GetProperty("accuracy_per_step").EnumerateArray())
            Assert.That(a.GetDouble() * 200, Is.EqualTo(Math.Round(a.GetDouble() * 200)).Within(1e-6));
    }

    [Test]
    public void EvalSnnDiagnoseInfoOnTheBundledModel()
    {
        using var tmp = new TempFolder();
        var common = new[] { "--load_model_name", BundledModel, "--datadir", BundledData, "--limit", "100", "--batchsize", "50" };

        var eval = CliRun.Of(["eval", .. common, "--json", tmp["e.json"]]);
        eval.AssertSuccess();
        double ann;
        using (var e = JsonDocument.Parse(File.ReadAllText(tmp["e.json"])))
        {
            ann = e.RootElement.GetProperty("ann_accuracy").GetDouble();
            Assert.That(e.RootElement.GetProperty("dataset").GetString(), Is.EqualTo("FashionMNIST"), "from the checkpoint's metadata");
            Assert.That(e.RootElement.GetProperty("net_arch").GetString(), Is.EqualTo("cnn"));
        }

        var snn = CliRun.Of(["snn", .. common, "--presim_len", "4", "--sim_len", "8", "--json", tmp["s.json"],
            "--plot", tmp["s.png"], "--plot_size", "400x300"]);
        snn.AssertSuccess();
        using (var s = JsonDocument.Parse(File.ReadAllText(tmp["s.json"])))
        {
            var r = s.RootElement;
            Assert.That(r.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(ann), "eval and snn agree on the ANN");
            Assert.That(r.GetProperty("samples").GetInt32(), Is.EqualTo(100));
            Assert.That(r.GetProperty("accuracy_per_step").GetArrayLength(), Is.EqualTo(8));
            Assert.That(r.GetProperty("plain_accuracy_per_step").GetArrayLength(), Is.EqualTo(8));
            Assert.That(r.GetProperty("images_per_second").GetDouble(), Is.GreaterThan(0));
        }
        var png = File.ReadAllBytes(tmp["s.png"]);
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), Is.EqualTo(400));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)), Is.EqualTo(300));

        var diag = CliRun.Of(["diagnose", .. common, "--presim_len", "4", "--sim_len", "4", "--json", tmp["d.json"]]);
        diag.AssertSuccess();
        using (var d = JsonDocument.Parse(File.ReadAllText(tmp["d.json"])))
        {
            var layers = d.RootElement.GetProperty("layers");
            Assert.That(layers.GetArrayLength(), Is.EqualTo(2), "the cnn has two QCFS layers");
            foreach (var layer in layers.EnumerateArray())
            {
                long neurons = layer.GetProperty("neurons").GetInt64();
                long plainTotal = layer.GetProperty("offset_histogram_plain").EnumerateArray().Sum(v => v.GetInt64());
                Assert.That(plainTotal, Is.EqualTo(neurons * 100), "every neuron of every image is in the histogram");
            }
        }

        var info = CliRun.Of("info", BundledModel, "--json", tmp["i.json"]);
        info.AssertSuccess();
        using var i = JsonDocument.Parse(File.ReadAllText(tmp["i.json"]));
        Assert.That(i.RootElement.GetProperty("net_arch").GetString(), Is.EqualTo("cnn"));
        Assert.That(i.RootElement.GetProperty("lambdas").GetArrayLength(), Is.EqualTo(2));
        Assert.That(i.RootElement.GetProperty("L").GetInt32(), Is.EqualTo(4));
    }

    [Test]
    public void CheckpointOfAnotherArchitectureIsRefusedByTheEngine() =>
        CliRun.Of("eval", "--load_model_name", BundledModel, "--net_arch", "resnet20", "--datadir", BundledData, "--limit", "10")
            .AssertOneLineFailure("cnn", "resnet20");

    /// <summary>
    /// Ctrl-C before the start: nothing written, exit 130. Ctrl-C after the first epoch: exit 130, that epoch's
    /// checkpoint kept. --resume then finishes the second epoch only.
    /// </summary>
    [Test]
    public void TrainInterruptResumeOnTinyData()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["fm"], train: 128, test: 32);
        string[] args = ["train", "--dataset", "FashionMNIST", "--datadir", tmp["fm"], "--net_arch", "cnn", "--batchsize", "32",
            "--trainann_epochs", "2", "--savedir", tmp["s"], "--json", tmp["train.json"]];

        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            var before = CliRun.With(cancelled.Token, args);
            Assert.That(before.ExitCode, Is.EqualTo(Commands.Interrupted), before.Err);
            Assert.That(before.Err, Does.Contain("no checkpoint was written"));
        }

        using var cancel = new CancellationTokenSource();
        var output = new CancellingWriter(cancel, "epoch 1/2  lr");
        var error = new StringWriter();
        int code = RunnerCli.Run(args, output, error, cancel.Token);
        Assert.That(code, Is.EqualTo(Commands.Interrupted), error.ToString());
        Assert.That(error.ToString(), Does.Contain("last good checkpoint kept").And.Contain("--resume"));
        var last = tmp["s/FashionMNIST-cnn-L4/last.safetensors"];
        Assert.That(SafeTensors.Load(last).Metadata[ModelMetadata.EpochKey], Is.EqualTo("1"));
        using (var doc = JsonDocument.Parse(File.ReadAllText(tmp["train.json"])))
        {
            Assert.That(doc.RootElement.GetProperty("cancelled").GetBoolean(), Is.True);
            Assert.That(doc.RootElement.GetProperty("epochs_done").GetInt32(), Is.EqualTo(1));
        }

        var resumed = CliRun.Of([.. args, "--resume"]);
        resumed.AssertSuccess();
        Assert.That(resumed.Out, Does.Contain("resuming").And.Contain("epoch 2/2").And.Not.Contain("epoch 1/2 "), "resume starts after the finished epoch");
        Assert.That(SafeTensors.Load(last).Metadata[ModelMetadata.EpochKey], Is.EqualTo("2"));
        using var done = JsonDocument.Parse(File.ReadAllText(tmp["train.json"]));
        Assert.That(done.RootElement.GetProperty("epochs_done").GetInt32(), Is.EqualTo(2));
    }
}
