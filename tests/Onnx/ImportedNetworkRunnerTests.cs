using System.Text.Json.Nodes;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Tests.IO;
using SpikeEngine.Tests.Runner;
using SpikeEngine.Tests.Support;
using SpikeEngine.Workflows;

namespace SpikeEngine.Tests.Onnx;

/// <summary>
/// The Runner with .onnx files: eval against PyTorch's accuracy on Fashion-MNIST, snn with percentile thresholds,
/// train --init_from and the fine-tuned checkpoint loading again, info, and the user errors.
/// </summary>
public sealed class ImportedNetworkRunnerTests() : TempFolderTests("onnx_runner")
{
    private static string Fixture(string name) => OnnxImportTests.Fixture(name);

    /// <summary>The ReLU CNN trained and exported by tools/onnx/train_fashion_mnist.py: the engine's ANN accuracy equals PyTorch's.</summary>
    [Test]
    public void EvalEqualsPyTorchAccuracyOnFashionMnist()
    {
        TestEnvironment.RequireFashionMnist();
        var json = Path.Combine(Dir, "eval.json");
        var run = CliRun.Of("eval", "--load_model_name", Fixture("fashion_mnist_cnn.onnx"), "--dataset", "FashionMNIST", "--json", json, "--batchsize", "500");
        run.AssertSuccess();
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        var pytorch = JsonNode.Parse(File.ReadAllText(Fixture("fashion_mnist_cnn.json")))!;
        Assert.That((long)report["samples"]!, Is.EqualTo(10_000));
        Assert.That((double)report["ann_accuracy"]!, Is.EqualTo((double)pytorch["test_accuracy"]!).Within(0.001), "within 0.1 points of PyTorch");
        Assert.That((string)report["net_arch"]!, Is.EqualTo(GraphSpec.Arch));
        Assert.That(report["L"], Is.Null, "not calibrated: no QCFS level");
    }

    [Test]
    public void SnnCalibratesThresholdsAndReportsTheClippingCost()
    {
        TestEnvironment.RequireFashionMnist("train-images-idx3-ubyte.gz");
        var json = Path.Combine(Dir, "snn.json");
        var run = CliRun.Of("snn", "--load_model_name", Fixture("fashion_mnist_cnn.onnx"), "--dataset", "FashionMNIST", "--limit", "200",
            "--calibration_images", "100", "--percentile", "99.9", "--L", "8", "--sim_len", "4", "--presim_len", "2", "--json", json);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("99.9th percentile").And.Contain("first 100 FashionMNIST training images").And.Contain("original"));
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        var calibration = report["calibration"]!;
        Assert.That(((int)calibration["calibration_images"]!, (int)calibration["L"]!), Is.EqualTo((100, 8)));
        Assert.That(calibration["layers"]!.AsArray(), Has.Count.EqualTo(3));
        Assert.That((double)calibration["ann_accuracy_calibrated"]!, Is.EqualTo((double)report["ann_accuracy"]!), "the SNN's ANN is the calibrated one");
        Assert.That((double)calibration["ann_accuracy_original"]!, Is.GreaterThan(0.8));
    }

    /// <summary>QCFS fine-tuning from an .onnx file: the checkpoint records the graph, so eval, snn and info load it without the .onnx file.</summary>
    [Test]
    public void TrainInitFromOnnxThenTheCheckpointLoadsLikeAZooModel()
    {
        TestEnvironment.RequireFashionMnist("train-images-idx3-ubyte.gz");
        var onnx = Path.Combine(Dir, "model.onnx");
        File.Copy(Fixture("fashion_mnist_cnn.onnx"), onnx);
        var train = CliRun.Of("train", "--init_from", onnx, "--dataset", "FashionMNIST", "--L", "4", "--trainann_epochs", "1",
            "--train_limit", "300", "--limit", "100", "--calibration_images", "200", "--lr", "0.01", "--savedir", Dir);
        train.AssertSuccess();
        var best = Path.Combine(Dir, "FashionMNIST-imported-L4", "best.safetensors");
        Assert.That(File.Exists(best), train.Out);
        File.Delete(onnx);

        var model = ModelLoader.Load(new ModelRequest(best));
        Assert.That((model.Arch, model.Levels, model.Dataset, model.NeedsCalibration), Is.EqualTo((GraphSpec.Arch, 4, "FashionMNIST", false)));
        Assert.That(model.Normalization!.Mean, Is.EqualTo(new[] { 0f }), "an imported network's default input: [0, 1] pixels");
        var spec = ((GraphNetwork)model.Ann).Spec;
        Assert.That(spec.Nodes.Count(n => n.Op == GraphOps.Qcfs), Is.EqualTo(3));
        Assert.That(model.Snn.IfLayers, Has.Count.EqualTo(3));

        var snn = CliRun.Of("snn", "--load_model_name", best, "--limit", "100", "--sim_len", "2", "--presim_len", "2");
        snn.AssertSuccess();
        Assert.That(snn.Out, Does.Contain("imported (QCFS, L = 4"));
        var normalised = ModelLoader.Load(new ModelRequest(best) { Normalization = new Normalization([0.3f], [0.35f]) });
        Assert.That((normalised.Normalization!.Mean, normalised.Normalization.Std), Is.EqualTo((new[] { 0.3f }, new[] { 0.35f })), "--mean/--std replace the recorded input normalisation");
        var diagnose = CliRun.Of("diagnose", "--load_model_name", best, "--limit", "100", "--sim_len", "2", "--presim_len", "2");
        diagnose.AssertSuccess();
        Assert.That(diagnose.Out, Does.Contain("Relu_1"));
        var info = CliRun.Of("info", best);
        info.AssertSuccess();
        Assert.That(info.Out, Does.Contain("QCFS L = 4 (was ReLU)").And.Contain("Linear 1568→64"));
    }

    [Test]
    public void InfoListsTheImportedLayers()
    {
        var json = Path.Combine(Dir, "info.json");
        var run = CliRun.Of("info", Fixture("small_cnn.onnx"), "--json", json);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("ONNX").And.Contain("Clip(0, 6)").And.Contain("Add (residual)").And.Contain("+ BatchNorm"));
        Assert.That(run.Out, Does.Not.Contain("meta: graph"));
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        var layers = report["layers"]!.AsArray();
        long parameters = layers.Sum(l => (long)l!["parameters"]!);
        Assert.That(parameters, Is.EqualTo((long)report["parameters"]!), "per-layer counts add up to the file's");
        var index = JsonNode.Parse(File.ReadAllText(Fixture("index.json")))!;
        Assert.That(parameters, Is.EqualTo((long)index["small_cnn"]!["parameters"]!), "PyTorch's parameter count");
    }

    [Test]
    public void UserErrorsAreOneLine()
    {
        TestEnvironment.RequireFashionMnist();
        CliRun.Of("eval", "--load_model_name", Fixture("maxpool_cnn.onnx"), "--dataset", "FashionMNIST")
            .AssertOneLineFailure("(MaxPool)", "--maxpool_to_avgpool");
        CliRun.Of("info", Fixture("unsupported_op.onnx")).AssertOneLineFailure("Sigmoid", "Supported:");
        CliRun.Of("eval", "--load_model_name", Fixture("small_cnn.onnx"), "--dataset", "FashionMNIST", "--mean", "0.5")
            .AssertOneLineFailure("--mean and --std go together");
        CliRun.Of("eval", "--load_model_name", Fixture("small_cnn.onnx"), "--net_arch", "resnet20", "--dataset", "FashionMNIST")
            .AssertOneLineFailure("imported graph", "--net_arch");
    }
}
