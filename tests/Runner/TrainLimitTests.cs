namespace SpikeEngine.Tests.Runner;

/// <summary>train --train_limit N and train_images_per_second in train's --json.</summary>
[NonParallelizable]
public class TrainLimitTests
{
    [SetUp]
    public void RequireBundledAssets() => Bundled.Require();

    /// <summary>Training on the first 64 of 256 images gives exactly the weights of training on a set of only those 64.</summary>
    [Test]
    public void TrainLimitEqualsTrainingOnTheFirstImagesAlone()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["big"], train: 256, test: 32);
        Bundled.WriteTinyFashionMnist(tmp["small"], train: 64, test: 32, trainStart: 0);
        // The small set's test split must be the big one's: both take the images after their training images, so rewrite it.
        foreach (var f in new[] { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
            File.Copy(Path.Combine(tmp["big"], f), Path.Combine(tmp["small"], f), overwrite: true);
        string[] common = ["train", "--dataset", "FashionMNIST", "--net_arch", "cnn", "--L", "4", "--trainann_epochs", "1",
            "--batchsize", "16", "--seed", "5", "--threads", "1"];
        int threads = SpikeEngine.Backend.Backends.Cpu.Threads;
        var limited = CliRun.Of([.. common, "--datadir", tmp["big"], "--train_limit", "64", "--savedir", tmp["a"], "--json", tmp["a.json"]]);
        limited.AssertSuccess();
        var alone = CliRun.Of([.. common, "--datadir", tmp["small"], "--savedir", tmp["b"]]);
        alone.AssertSuccess();
        SpikeEngine.Backend.Backends.Cpu.Threads = threads;

        var a = SafeTensors.Load(Path.Combine(tmp["a"], "FashionMNIST-cnn-L4", "last.safetensors")).Tensors;
        var b = SafeTensors.Load(Path.Combine(tmp["b"], "FashionMNIST-cnn-L4", "last.safetensors")).Tensors;
        Assert.That(a.Keys, Is.EquivalentTo(b.Keys));
        foreach (var (name, tensor) in a)
            Assert.That(tensor.Span.ToArray(), Is.EqualTo(b[name].Span.ToArray()), name);

        var full = CliRun.Of([.. common, "--datadir", tmp["big"], "--savedir", tmp["c"]]);
        full.AssertSuccess();
        SpikeEngine.Backend.Backends.Cpu.Threads = threads;
        var c = SafeTensors.Load(Path.Combine(tmp["c"], "FashionMNIST-cnn-L4", "last.safetensors")).Tensors;
        Assert.That(c["layer1.0.weight"].Span.ToArray(), Is.Not.EqualTo(a["layer1.0.weight"].Span.ToArray()), "without the limit all 256 images train");

        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["a.json"]));
        var root = doc.RootElement;
        double ips = root.GetProperty("train_images_per_second").GetDouble();
        Assert.That(ips, Is.GreaterThan(0));
        Assert.That(ips, Is.GreaterThanOrEqualTo(64 / root.GetProperty("seconds").GetDouble()), "evaluation is not part of the training phase");
        Assert.That(root.GetProperty("epochs_done").GetInt32(), Is.EqualTo(1));
    }
}
