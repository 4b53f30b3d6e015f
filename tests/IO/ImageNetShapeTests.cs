using SpikeEngine.Tests.Data;

namespace SpikeEngine.Tests.IO;

/// <summary>
/// The reference's ImageNet networks at full size (1000 classes, 224 px): checkpoints written at test time by
/// the project's from-the-spec PyTorch model code (tools/fixtures/imagenet_checkpoints.py, dyadic weights) are
/// recognised from their tensors, load strictly, and give PyTorch's eval-mode logits.
/// </summary>
[Category("Slow")]
public class ImageNetShapeTests
{
    /// <summary>As <see cref="PyTorchLogitsTests"/>: max |ours − PyTorch's| relative to the largest |logit|.</summary>
    private const double Tolerance = 1e-4;

    // ResNet-34 at 224 px with the 3×3 stride-1 stem is ~120 GFLOP per image: one image keeps the test short.
    [TestCase("resnet34", 1, 21_790_025L)]
    [TestCase("vgg16", 2, 138_366_007L)]
    public void ReferenceImageNetNetworkGivesPyTorchLogits(string arch, int images, long parameters)
    {
        using var tmp = new TempDir();
        var (code, output) = FixtureScripts.RunTool("imagenet_checkpoints.py", 900, tmp.Path, "--arch", arch, "--images", images.ToString());
        Assert.That(code, Is.EqualTo(0), output);
        var name = $"{arch}_imagenet";
        var meta = JsonDocument.Parse(File.ReadAllText(tmp[name + ".json"])).RootElement;
        int levels = meta.GetProperty("L").GetInt32();
        Assert.That(meta.GetProperty("parameters").GetInt64(), Is.EqualTo(parameters), "PyTorch's count");

        var checkpoint = Checkpoints.Load(tmp[name + ".pth"]);
        var summary = CheckpointSummary.From(checkpoint);
        Assert.That((summary.Arch, summary.Classes, summary.ParameterCount), Is.EqualTo(((string?)arch, (int?)1000, parameters)),
            "info: the reference network for 1000 classes, recognised with no detail");

        // Built from the tensors' shape choices, and by name as the Runner does for --dataset ImageNet: the same network.
        var model = ArchitectureInference.CreateModel(checkpoint.Tensors, levels, checkpoint.Path, arch: arch, classes: 1000);
        model.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path);
        Assert.That(model.ParameterCount, Is.EqualTo(parameters));
        var byName = ModelZoo.Create(arch, 1000, levels, new ModelOptions { ImageNet = true, Initialize = false }).StateDict();
        Assert.That(byName.ToDictionary(kv => kv.Key, kv => kv.Value.Shape), Is.EquivalentTo(model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape)));
        var outputBias = checkpoint.Tensors[arch.StartsWith("vgg") ? "classifier.7.bias" : "fc.bias"].ToArray();
        byName = null;
        checkpoint = null;

        model.Eval();
        var (expected, logitShape) = Npy.Read(tmp[name + "_logits.npy"]);
        var actual = CheckpointFixtures.Logits(model, tmp[name + "_input.npy"], logitShape);
        double scale = CheckpointFixtures.Scale(expected);
        double worst = CheckpointFixtures.MaxDifference(expected, actual);
        TestContext.Out.WriteLine($"{arch} (1000 classes, L = {levels}, {images} × 224 px): max |Δlogit| = {worst:G3}, logit scale {scale:G3}, relative {worst / scale:G3}");
        // The image reaches the output: the logits are not just the last layer's bias.
        double fromBias = expected.Select((e, i) => Math.Abs(e - outputBias[i % outputBias.Length])).Max();
        Assert.That(fromBias, Is.GreaterThan(0.1 * scale), "PyTorch's logits are more than the output bias");
        Assert.That(worst / scale, Is.LessThanOrEqualTo(Tolerance), $"max |Δlogit| {worst} at logit scale {scale}");
    }
}
