using SpikeEngine.Tests.Data;
using static SpikeEngine.Tests.IO.CheckpointFixtures;

namespace SpikeEngine.Tests.IO;

/// <summary>Every shape choice of a zoo model (stem, classifier input, widths, classes) is read from a checkpoint's tensors.</summary>
public class ArchitectureInferenceTests
{
    [Test]
    public void NonStandardWidthsAreBuiltFromTheTensorsAndGivePyTorchLogits()
    {
        // The fixture's narrow VGG-16 (widths 4/8/8/16/16, classifier 32) made by PyTorch: no hand-written model class needed.
        var checkpoint = Checkpoints.Load(File("vgg16_narrow.pth"));
        var found = ArchitectureInference.Infer(checkpoint.Tensors)!;
        Assert.That((found.Arch, found.Classes, found.Hidden, found.ClassifierInput, found.InputChannels), Is.EqualTo(("vgg16", (int?)10, (int?)32, (int?)16, (int?)3)));
        Assert.That(found.Widths, Is.EqualTo(new[] { 4, 8, 8, 16, 16 }));
        Assert.That(found.Detail, Does.Contain("non-standard widths 4/8/8/16/16").And.Contain("classifier width 32"));
        var model = ArchitectureInference.CreateModel(checkpoint.Tensors, 8, checkpoint.Path, arch: "VGG-16", classes: 10);
        model.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path);
        model.Eval();
        var (expected, _) = Npy.Read(File("vgg16_narrow_logits.npy"));
        var actual = Logits(model, File("input.npy"));
        Assert.That(MaxDifference(expected, actual) / Scale(expected), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void ReferenceShapesNeedNoDetail()
    {
        foreach (var (arch, classes) in new[] { ("resnet34", 1000), ("resnet18", 1000), ("vgg16", 1000), ("vgg11", 10), ("resnet20", 100) })
        {
            var shapes = Shapes(ModelZoo.Create(arch, classes, 4, new ModelOptions { Initialize = false }));
            var found = ArchitectureInference.Infer(shapes)!;
            Assert.That((found.Arch, found.Classes, found.Detail), Is.EqualTo((arch, (int?)classes, (string?)null)), arch);
            if (arch.StartsWith("resnet")) Assert.That(found.Stem, Is.EqualTo(ResNetStem.Reference), arch);
        }
        // A 1000-class VGG with a CIFAR-sized classifier, and a 10-class one with the 512·7·7 classifier, are named as such.
        var small = ArchitectureInference.Infer(Shapes(ModelZoo.Create("vgg11", 1000, 4, new ModelOptions { Initialize = false, ClassifierInput = 512 })))!;
        Assert.That(small.Detail, Is.EqualTo("classifier input 512"));
        var wide = ArchitectureInference.Infer(Shapes(ModelZoo.Create("vgg11", 10, 4, new ModelOptions { Initialize = false, ImageNet = true })))!;
        Assert.That(wide.Detail, Does.Contain("ImageNet classifier"));
        var built = ArchitectureInference.CreateModel(ModelZoo.Create("vgg11", 10, 4, new ModelOptions { Initialize = false, ImageNet = true }).StateDict(), 4, "test");
        Assert.That(built.StateDict()["classifier.1.weight"].Shape, Is.EqualTo(new Shape(4096, 512 * 49)));
    }

    [Test]
    public void TorchvisionStemCheckpointIsRecognisedAndLoads()
    {
        using var tmp = new TempDir();
        var (code, output) = FixtureScripts.RunTool("imagenet_checkpoints.py", 300, tmp.Path, "--arch", "resnet18", "--stem", "torchvision", "--no-logits");
        Assert.That(code, Is.EqualTo(0), output);
        var checkpoint = Checkpoints.Load(tmp["resnet18_imagenet.pth"]);
        var found = ArchitectureInference.Infer(checkpoint.Tensors)!;
        Assert.That((found.Arch, found.Classes, found.Stem), Is.EqualTo(("resnet18", (int?)1000, (ResNetStem?)ResNetStem.Torchvision)));
        Assert.That(found.Detail, Does.Contain("torchvision-style 7×7 stem"));
        var model = ArchitectureInference.CreateModel(checkpoint.Tensors, 16, checkpoint.Path, arch: "resnet18");
        Assert.That(() => model.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path), Throws.Nothing);
        Assert.That(model.Describe(), Does.Contain("torchvision-style stem"));
        // A loader that knows arch, classes and L builds the same network with the tensors' shape options.
        var options = ArchitectureInference.ShapeOptions(checkpoint.Tensors, "ResNet-18", new ModelOptions { ImageNet = true, Initialize = false });
        Assert.That(options.Stem, Is.EqualTo(ResNetStem.Torchvision));
        Assert.That(() => ModelZoo.Create("resnet18", 1000, 16, options).LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path), Throws.Nothing);
        Assert.That(ArchitectureInference.ShapeOptions(checkpoint.Tensors, "resnet34", new ModelOptions()).Stem, Is.EqualTo(ResNetStem.Reference), "not this architecture: unchanged");
        // The reference network (what --dataset ImageNet builds by name) is another network: the error names the stem.
        var reference = ModelZoo.Create("resnet18", 1000, 16, new ModelOptions { ImageNet = true, Initialize = false });
        Assert.That(() => reference.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("conv1.0.weight: expected [64, 3, 3, 3], found [64, 3, 7, 7]"));
    }

    [Test]
    public void CheckpointsThatDisagreeWithTheRequestAreRefused()
    {
        var tensors = ModelZoo.Create("resnet34", 1000, 4, new ModelOptions { Initialize = false }).StateDict();
        Assert.That(() => ArchitectureInference.CreateModel(tensors, 4, "r34.pth", arch: "resnet18"),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("r34.pth").And.Message.Contains("resnet34").And.Message.Contains("resnet18"));
        Assert.That(() => ArchitectureInference.CreateModel(tensors, 4, "r34.pth", classes: 10),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("1000 output classes but 10"));
        Assert.That(() => ArchitectureInference.CreateModel(new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(new Shape(2)) }, 4, "odd.pth"),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("odd.pth").And.Message.Contains("none of the known architectures"));
    }

    private static Dictionary<string, Shape> Shapes(Module model) => model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
}
