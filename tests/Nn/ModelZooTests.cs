namespace SpikeEngine.Tests.Nn;

public class ModelZooTests
{
    private static readonly ModelOptions NoInit = new() { Initialize = false };

    // Trainable parameters (λ included), QCFS units and PyTorch state_dict entries of the reference models.
    [TestCase("vgg16", 10, false, 33_646_681L, 15, 112)]
    [TestCase("vgg16", 100, false, 34_015_411L, 15, 112)]
    [TestCase("vgg11", 10, false, 28_149_524L, 10, 72)]
    [TestCase("vgg19", 10, false, 38_958_940L, 18, 136)]
    [TestCase("resnet20", 10, false, 272_493L, 19, 147)]
    [TestCase("resnet18", 10, false, 11_173_979L, 17, 139)]
    [TestCase("resnet34", 10, false, 21_282_155L, 33, 251)]
    // ImageNet: the reference keeps the 3×3 stride-1 stem (METHOD.md §8); the published ResNet-34 has this count.
    [TestCase("resnet34", 1000, true, 21_790_025L, 33, 251)]
    [TestCase("resnet18", 1000, true, 11_681_849L, 17, 139)]
    public void CountsMatchTheReference(string arch, int classes, bool imageNet, long parameters, int lambdas, int entries)
    {
        var model = ModelZoo.Create(arch, classes, 4, NoInit with { ImageNet = imageNet });
        Assert.Multiple(() =>
        {
            Assert.That(model.ParameterCount, Is.EqualTo(parameters), "trainable parameters");
            Assert.That(model.NamedParameters().Count(p => p.Name.EndsWith(".up")), Is.EqualTo(lambdas), "λ parameters");
            Assert.That(ModelZoo.QcfsUnits(model).Count(), Is.EqualTo(lambdas), "QCFS units");
            Assert.That(model.StateDict(), Has.Count.EqualTo(entries), "state_dict entries");
        });
    }

    [Test]
    public void Vgg16ImageNetHas138MParameters()
    {
        var model = ModelZoo.Create("vgg16", 1000, 4, NoInit with { ImageNet = true });
        Assert.That(model.ParameterCount, Is.EqualTo(138_366_007L));
        Assert.That(model.StateDict()["classifier.1.weight"].Shape, Is.EqualTo(new Shape(4096, 512 * 7 * 7)));
        model = null;
        GC.Collect();
    }

    [Test]
    public void Vgg16KeysFollowTheReference()
    {
        var sd = ModelZoo.Create("vgg16", 10, 4, NoInit).StateDict();
        var keys = sd.Keys.ToList();
        Assert.That(keys.Take(8), Is.EqualTo(new[]
        {
            "layer1.0.weight", "layer1.0.bias", "layer1.1.weight", "layer1.1.bias",
            "layer1.1.running_mean", "layer1.1.running_var", "layer1.1.num_batches_tracked", "layer1.2.up",
        }));
        Assert.That(keys, Does.Contain("layer1.4.weight")); // second conv of block 1 after [conv, bn, qcfs, dropout]
        Assert.That(keys, Does.Contain("layer5.10.up"));
        Assert.That(keys.TakeLast(8), Is.EqualTo(new[]
        {
            "classifier.1.weight", "classifier.1.bias", "classifier.2.up", "classifier.4.weight",
            "classifier.4.bias", "classifier.5.up", "classifier.7.weight", "classifier.7.bias",
        }));
        Assert.That(sd["layer1.2.up"].Shape, Is.EqualTo(new Shape(1)));
        Assert.That(sd["layer1.1.num_batches_tracked"].Shape, Is.EqualTo(new Shape()));
        Assert.That(sd["classifier.7.weight"].Shape, Is.EqualTo(new Shape(10, 4096)));
    }

    [Test]
    public void ResNetKeysFollowTheReference()
    {
        var r20 = ModelZoo.Create("resnet20", 10, 4, NoInit).StateDict();
        Assert.That(r20.Keys, Does.Contain("conv1.0.weight").And.Contain("conv1.2.up")
            .And.Contain("conv2_x.0.residual_function.0.weight")
            .And.Contain("conv2_x.0.residual_function.2.up")
            .And.Contain("conv2_x.0.relu.up")
            .And.Contain("conv3_x.0.shortcut.0.weight")
            .And.Contain("conv3_x.0.shortcut.1.running_var")
            .And.Contain("fc.weight").And.Contain("fc.bias"));
        Assert.That(r20.Keys, Does.Not.Contain("conv1.0.bias").And.Not.Contain("conv2_x.0.shortcut.0.weight"));
        Assert.That(r20["conv4_x.2.residual_function.3.weight"].Shape, Is.EqualTo(new Shape(64, 64, 3, 3)));
        var r18 = ModelZoo.Create("resnet18", 100, 4, NoInit).StateDict();
        Assert.That(r18.Keys, Does.Contain("conv5_x.1.relu.up"));
        Assert.That(r18["fc.weight"].Shape, Is.EqualTo(new Shape(100, 512)));
        var r34 = ModelZoo.Create("resnet34", 1000, 4, NoInit with { ImageNet = true }).StateDict();
        Assert.That(r34["conv1.0.weight"].Shape, Is.EqualTo(new Shape(64, 3, 3, 3)), "the reference's stem on ImageNet");
        Assert.That(r34.Keys, Does.Contain("conv4_x.5.relu.up").And.Not.Contain("conv1.3.weight"));
        var torchvision = ModelZoo.Create("resnet34", 1000, 4, NoInit with { Stem = ResNetStem.Torchvision }).StateDict();
        Assert.That(torchvision["conv1.0.weight"].Shape, Is.EqualTo(new Shape(64, 3, 7, 7)));
        Assert.That(torchvision.Keys.Except(r34.Keys), Is.Empty, "the pool has no parameters: same keys, other stem shape");
        Assert.That(() => ModelZoo.Create("resnet20", 10, 4, NoInit with { Stem = ResNetStem.Torchvision }),
            Throws.ArgumentException.With.Message.Contains("resnet20"));
    }

    [Test]
    public void UnknownArchitectureListsTheValidNames()
    {
        Assert.That(() => ModelZoo.Create("vgg17", 10, 4),
            Throws.ArgumentException.With.Message.Contains("vgg17").And.Message.Contains("resnet20").And.Message.Contains("cnn"));
        Assert.That(() => ModelZoo.Create("vgg16", 0, 4), Throws.ArgumentException.With.Message.Contains("classes"));
        Assert.That(() => ModelZoo.Create("vgg16", 10, 0), Throws.ArgumentException.With.Message.Contains("L"));
    }

    [Test]
    public void ReferenceInitialisationHasTheExpectedStatistics()
    {
        var model = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Seed = 3 });
        var sd = model.StateDict();
        var w = sd["conv3_x.1.residual_function.0.weight"].Span.ToArray(); // 32·3·3 fan_out = 288
        double mean = w.Average(), std = Math.Sqrt(w.Select(v => (v - mean) * (v - mean)).Average());
        Assert.That(mean, Is.EqualTo(0).Within(0.01));
        Assert.That(std, Is.EqualTo(Math.Sqrt(2.0 / 288)).Within(0.05 * Math.Sqrt(2.0 / 288)));
        var fc = sd["fc.weight"].Span.ToArray();
        Assert.That(fc.Max(), Is.LessThanOrEqualTo(1 / Math.Sqrt(64)));
        Assert.That(fc.Min(), Is.GreaterThanOrEqualTo(-1 / Math.Sqrt(64)));
        Assert.That(sd["fc.bias"].Span.ToArray(), Is.All.EqualTo(0f));
        Assert.That(sd["conv1.1.weight"].Span.ToArray(), Is.All.EqualTo(1f));
        Assert.That(sd["conv1.1.running_var"].Span.ToArray(), Is.All.EqualTo(1f));
        Assert.That(sd["conv1.2.up"].Item(), Is.EqualTo(8f));
        // Same seed, same weights; another seed, other weights.
        var again = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Seed = 3 }).StateDict()["fc.weight"].Span.ToArray();
        var other = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Seed = 4 }).StateDict()["fc.weight"].Span.ToArray();
        Assert.That(again, Is.EqualTo(fc));
        Assert.That(other, Is.Not.EqualTo(fc));
    }

    [Test]
    public void AnInitialThresholdReachesEveryQcfsUnitAndNothingElse()
    {
        var reference = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Seed = 3 });
        var model = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Seed = 3, InitialThreshold = 2.5f });
        Assert.That(ModelZoo.QcfsUnits(model).Select(u => u.Unit.Up.Item()), Is.All.EqualTo(2.5f));
        Assert.That(ModelZoo.QcfsUnits(model).Count(), Is.EqualTo(19));
        var (a, b) = (reference.StateDict(), model.StateDict());
        foreach (var key in a.Keys.Where(k => !k.EndsWith(".up")))
            Assert.That(b[key].Span.ToArray(), Is.EqualTo(a[key].Span.ToArray()), $"{key}: the same random numbers as with λ = 8");
        foreach (float bad in new[] { 0f, -1f, float.NaN, float.PositiveInfinity })
            Assert.That(() => ModelZoo.Create("resnet20", 10, 4, new ModelOptions { InitialThreshold = bad }),
                Throws.ArgumentException.With.Message.Contains("initial QCFS threshold"), $"{bad}");
    }

    [Test]
    public void LevelsReachEveryQcfsUnit()
    {
        var model = ModelZoo.Create("resnet20", 10, 16, NoInit);
        Assert.That(ModelZoo.QcfsUnits(model).Select(u => u.Unit.Levels), Is.All.EqualTo(16));
    }

    [Test]
    public void ChildrenCanBeSwappedForConversion()
    {
        var model = ModelZoo.Create("resnet20", 10, 4, NoInit);
        var block = model.Child("conv2_x").Child<BasicBlock>("0");
        block.SetChild("relu", new Identity());
        Assert.That(block.Child("relu"), Is.TypeOf<Identity>());
        Assert.That(model.StateDict().Keys, Does.Not.Contain("conv2_x.0.relu.up"));
    }

    [Test]
    public void DescribeNamesTheSettings()
    {
        Assert.That(new Conv2d(3, 64, 3, 1, 1).Describe(), Is.EqualTo("Conv2d(3, 64, kernel=3, stride=1, padding=1, bias=True)"));
        Assert.That(new Qcfs(8).Describe(), Is.EqualTo("Qcfs(L=8)"));
        Assert.That(new BatchNorm2d(16).Describe(), Does.StartWith("BatchNorm2d(16"));
        Assert.That(new Linear(512, 10).Describe(), Is.EqualTo("Linear(512, 10, bias=True)"));
    }
}

public class ModelForwardTests
{
    [TestCase("vgg11", 32, 10)]
    [TestCase("vgg13", 32, 10)]
    [TestCase("vgg16", 32, 100)]
    [TestCase("vgg19", 32, 10)]
    [TestCase("resnet20", 32, 10)]
    [TestCase("resnet18", 32, 10)]
    [TestCase("resnet34", 32, 100)]
    [TestCase("cnn", 28, 10)]
    public void ForwardGivesOneRowOfLogitsPerImage(string arch, int size, int classes)
    {
        var model = ModelZoo.Create(arch, classes, 4, new ModelOptions { Dropout = 0.1f });
        int channels = arch == "cnn" ? 1 : 3;
        var x = GradCheck.Random(new Shape(2, channels, size, size), 1);
        var y = model.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new Shape(2, classes)));
        Assert.That(y.Span.ToArray(), Is.All.Matches<float>(float.IsFinite));
        Grad.ReleaseGraph(y);
        model.Eval();
        using (Grad.NoGrad()) Assert.That(model.Forward(x).Shape, Is.EqualTo(new Shape(2, classes)));
    }

    [Test]
    public void ResNet18TorchvisionStemTakes224PixelImages()
    {
        var model = ModelZoo.Create("resnet18", 1000, 4, new ModelOptions { Stem = ResNetStem.Torchvision });
        model.Eval();
        using (Grad.NoGrad())
            Assert.That(model.Forward(GradCheck.Random(new Shape(1, 3, 224, 224), 1)).Shape, Is.EqualTo(new Shape(1, 1000)));
    }

    [Test]
    public void VggClassifierInputFollowsTheClassCountAsTheReference()
    {
        // The reference picks 512·7·7 for 1000 classes, whatever the data set is called.
        var thousand = ModelZoo.Create("vgg11", 1000, 4, new ModelOptions { Initialize = false }).StateDict();
        Assert.That(thousand["classifier.1.weight"].Shape, Is.EqualTo(new Shape(4096, 512 * 7 * 7)));
        var explicitInput = ModelZoo.Create("vgg11", 10, 4, new ModelOptions { Initialize = false } with { ClassifierInput = 512 * 2 * 2, Hidden = 64, Widths = [8, 8, 16, 16, 512] }).StateDict();
        Assert.That(explicitInput["classifier.1.weight"].Shape, Is.EqualTo(new Shape(64, 2048)));
        Assert.That(explicitInput["layer3.0.weight"].Shape, Is.EqualTo(new Shape(16, 8, 3, 3)));
        Assert.That(() => ModelZoo.Create("vgg11", 10, 4, new ModelOptions { Initialize = false } with { ClassifierInput = 1000 }),
            Throws.ArgumentException.With.Message.Contains("ClassifierInput 1000"));
        Assert.That(() => ModelZoo.Create("vgg11", 10, 4, new ModelOptions { Initialize = false } with { Widths = [8, 8] }),
            Throws.ArgumentException.With.Message.Contains("5 positive block widths"));
    }

    [Test]
    public void WrongInputSizeNamesTheLayer()
    {
        var model = ModelZoo.Create("vgg16", 10, 4);
        Assert.That(() => model.Forward(GradCheck.Random(new Shape(1, 1, 32, 32), 1)),
            Throws.ArgumentException.With.Message.Contains("Conv2d(3, 64").And.Message.Contains("1 channels"));
        Assert.That(() => model.Forward(GradCheck.Random(new Shape(1, 3, 64, 64), 1)),
            Throws.ArgumentException.With.Message.Contains("Linear(512, 4096").And.Message.Contains("2048 features"));
    }
}
