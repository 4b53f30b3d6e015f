using static SpikeEngine.Tests.IO.CheckpointFixtures;

namespace SpikeEngine.Tests.IO;

/// <summary>Our ANN forward on PyTorch-made checkpoints gives PyTorch's eval-mode logits.</summary>
public class PyTorchLogitsTests
{
    /// <summary>Max |ours − PyTorch's| relative to the largest |logit|. The fixtures keep every QCFS input ≥ 3e-5 away
    /// from a rounding boundary (see make_checkpoints.py), so summation-order differences cannot flip a floor.</summary>
    private const double Tolerance = 1e-4;

    [TestCase("resnet20_mixed_fp16.pth")]
    [TestCase("vgg16_narrow.pth")]
    [TestCase("vgg16_narrow_wrapped")]
    public void ForwardMatchesPyTorchLogits(string file)
    {
        var name = file.StartsWith("resnet20") ? "resnet20" : "vgg16_narrow";
        var meta = CheckpointFixtures.Index.GetProperty("models").GetProperty(name);
        int levels = meta.GetProperty("L").GetInt32(), classes = meta.GetProperty("classes").GetInt32();
        Module model = name == "resnet20"
            ? ModelZoo.Create("resnet20", classes, levels, new ModelOptions { Initialize = false })
            : new NarrowVgg16(classes, levels);
        var checkpoint = Checkpoints.LoadInto(model, File(file), strict: true, expectedArch: meta.GetProperty("arch").GetString());
        model.Eval();

        var (expected, logitShape) = Npy.Read(File(meta.GetProperty("logits").GetString()!));
        var actual = Logits(model, File(meta.GetProperty("input").GetString()!), logitShape);
        double scale = Scale(expected);
        double worst = MaxDifference(expected, actual);
        TestContext.Out.WriteLine($"{checkpoint.Path}: max |Δlogit| = {worst:G3}, logit scale {scale:G3}, relative {worst / scale:G3}");
        Assert.That(worst / scale, Is.LessThanOrEqualTo(Tolerance), $"max |Δlogit| {worst} at logit scale {scale}");
    }

    [Test]
    public void TheComparisonNoticesAWrongQuantisationLevel()
    {
        // the same weights run with L = 8 instead of the recorded L = 4 must not pass as PyTorch's logits
        var model = ModelZoo.Create("resnet20", 10, 8, new ModelOptions { Initialize = false });
        Checkpoints.LoadInto(model, File("resnet20_mixed_fp16.pth"));
        model.Eval();
        var (expected, _) = Npy.Read(File("resnet20_logits.npy"));
        var actual = Logits(model, File("input.npy"));
        double worst = MaxDifference(expected, actual) / Scale(expected);
        Assert.That(worst, Is.GreaterThan(100 * Tolerance));
    }

    [Test]
    public void WrongArchitectureForTheModelIsNamedBeforeKeyErrors()
    {
        var vgg = new NarrowVgg16(10, 8);
        Assert.That(() => Checkpoints.LoadInto(vgg, File("resnet20_mixed_fp16.pth")), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("look like resnet20").And.Message.Contains("vgg16").And.Message.Contains("resnet20_mixed_fp16.pth"));
    }

    [Test]
    public void ShapeMismatchesAndMissingKeysAreListedTogetherWithTheFile()
    {
        var resnet = ModelZoo.Create("resnet20", 100, 4, new ModelOptions { Initialize = false });
        Assert.That(() => Checkpoints.LoadInto(resnet, File("resnet20_mixed_fp16.pth")), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("resnet20_mixed_fp16.pth").And.Message.Contains("fc.weight: expected [100, 64], found [10, 64]"));
        var vgg = new NarrowVgg16(10, 8);
        var resnetKeysRemoved = Path.Combine(Path.GetTempPath(), $"spike_partial_{Guid.NewGuid():N}.pth");
        try
        {
            var tensors = Checkpoints.Load(File("vgg16_narrow.pth")).Tensors;
            tensors.Remove("layer2.1.running_var");
            tensors["extra.weight"] = Tensor.Zeros(new Shape(1));
            PyTorchCheckpoint.Save(resnetKeysRemoved, tensors);
            Assert.That(() => Checkpoints.LoadInto(vgg, resnetKeysRemoved), Throws.TypeOf<InvalidDataException>()
                .With.Message.Contains("missing keys (1): layer2.1.running_var").And.Message.Contains("unexpected keys (1): extra.weight"));
            Assert.That(() => Checkpoints.LoadInto(vgg, resnetKeysRemoved, strict: false), Throws.Nothing);
        }
        finally { System.IO.File.Delete(resnetKeysRemoved); }
    }

    /// <summary>VGG-16's structure and names with the fixture's narrow widths (make_checkpoints.py NARROW_VGG).</summary>
    private sealed class NarrowVgg16 : Module
    {
        public NarrowVgg16(int classes, int levels)
        {
            int[][] blocks = [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16], [16, 16, 16]];
            int channels = 3;
            for (int b = 0; b < blocks.Length; b++)
            {
                var layers = new List<Module>();
                foreach (var width in blocks[b])
                {
                    layers.AddRange([new Conv2d(channels, width, 3, 1, 1, bias: true), new BatchNorm2d(width), new Qcfs(levels), new Dropout(0)]);
                    channels = width;
                }
                layers.Add(new AvgPool2d(2, 2));
                RegisterChild($"layer{b + 1}", new Sequential([.. layers]));
            }
            RegisterChild("classifier", new Sequential(new Flatten(), new Linear(channels, 32), new Qcfs(levels), new Dropout(0),
                new Linear(32, 32), new Qcfs(levels), new Dropout(0), new Linear(32, classes)));
        }

        public override Tensor Forward(Tensor x)
        {
            var current = x;
            foreach (var (_, child) in Children())
            {
                var next = child.Forward(current);
                if (!ReferenceEquals(current, x)) current.Dispose();
                current = next;
            }
            return current;
        }
    }
}
