using SpikeEngine.Training;
using static SpikeEngine.Tests.IO.CheckpointFixtures;

namespace SpikeEngine.Tests.IO;

public class SafeTensorsAndMetadataTests() : TempFolderTests("spike_st")
{
    private static readonly ModelMetadata ResNetMeta = new ModelMetadata
    {
        Arch = "resnet20", Classes = 10, Levels = 4, Dataset = "cifar10",
        Extra = new Dictionary<string, string> { ["epoch"] = "7" },
    }.WithNormalization(Normalization.Cifar10);

    [TestCase("resnet20_mixed_fp16.pth")]
    [TestCase("vgg16_narrow_wrapped.pth")]
    public void PthToSafeTensorsToPthRoundTripIsIdentical(string fixture)
    {
        var original = Checkpoints.Load(File(fixture));
        var st = Path.Combine(Dir, "model.safetensors");
        SafeTensors.Save(st, original.Tensors, ResNetMeta.ToDictionary());
        var fromSt = Checkpoints.Load(Path.Combine(Dir, "model")); // extension optional
        Assert.That(fromSt.Format, Is.EqualTo(CheckpointFormat.SafeTensors));
        Assert.That(fromSt.Metadata.ToDictionary(), Is.EquivalentTo(ResNetMeta.ToDictionary()));
        var pth = Path.Combine(Dir, "model.pth");
        PyTorchCheckpoint.Save(pth, fromSt.Tensors);
        var back = Checkpoints.Load(pth);
        Assert.That(back.Tensors.Keys, Is.EquivalentTo(original.Tensors.Keys));
        foreach (var (key, t) in original.Tensors)
        {
            Assert.That(fromSt.Tensors[key].Shape, Is.EqualTo(t.Shape), key);
            Assert.That(back.Tensors[key].Shape, Is.EqualTo(t.Shape), key);
            var expected = t.ToArray();
            Assert.That(fromSt.Tensors[key].ToArray(), Is.EqualTo(expected), key);
            Assert.That(back.Tensors[key].ToArray(), Is.EqualTo(expected), key);
        }
    }

    [Test]
    public void MetadataRoundTripsAndBadValuesAreNamed()
    {
        var d = ResNetMeta.ToDictionary();
        var parsed = ModelMetadata.FromDictionary(d, "m.safetensors");
        Assert.That(parsed.Arch, Is.EqualTo("resnet20"));
        Assert.That(parsed.Levels, Is.EqualTo(4));
        Assert.That(parsed.Normalization!.Mean, Is.EqualTo(Normalization.Cifar10.Mean));
        Assert.That(parsed.Normalization!.Std, Is.EqualTo(Normalization.Cifar10.Std));
        Assert.That(parsed.Extra["epoch"], Is.EqualTo("7"));
        var bad = new Dictionary<string, string>(d) { ["L"] = "four" };
        Assert.That(() => ModelMetadata.FromDictionary(bad, "m.safetensors"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("'L'").And.Message.Contains("m.safetensors"));
        var oneSided = new Dictionary<string, string>(d);
        oneSided.Remove("normalization_std");
        Assert.That(() => ModelMetadata.FromDictionary(oneSided, "m.safetensors"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("normalization_std"));
    }

    [Test]
    public void MetadataAloneIsReadFromTheHeader()
    {
        string path = Path.Combine(Dir, "m.safetensors");
        using var weights = Tensor.FromArray([1f, 2f, 3f], new Shape(3));
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = weights }, new Dictionary<string, string> { ["accuracy"] = "0.8809", ["arch"] = "resnet20" });
        Assert.That(SafeTensors.ReadMetadata(path), Is.EqualTo(SafeTensors.Load(path).Metadata));
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = weights });
        Assert.That(SafeTensors.ReadMetadata(path), Is.Empty, "no __metadata__: an empty map");

        System.IO.File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(() => SafeTensors.ReadMetadata(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains("m.safetensors").And.Message.Contains("too short"));
        System.IO.File.WriteAllBytes(path, [.. BitConverter.GetBytes(100UL), .. "{}"u8.ToArray()]);
        Assert.That(() => SafeTensors.ReadMetadata(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains("exceeds the file size"));
        System.IO.File.WriteAllBytes(path, [.. BitConverter.GetBytes(3UL), .. "{x}"u8.ToArray()]);
        Assert.That(() => SafeTensors.ReadMetadata(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains("not a valid safetensors header"));
        Assert.That(() => SafeTensors.ReadMetadata(Path.Combine(Dir, "none.safetensors")), Throws.TypeOf<FileNotFoundException>());
    }

    [Test]
    public void PythonReadsOurSafeTensorsLayout()
    {
        var st = Path.Combine(Dir, "model.safetensors");
        SafeTensors.Save(st, Checkpoints.Load(File("resnet20_mixed_fp16.pth")).Tensors, ResNetMeta.ToDictionary());
        var (code, output) = RunScript("--check-safetensors", st);
        Assert.That(code, Is.Zero, output);
        var report = JsonDocument.Parse(output.Trim().Split('\n').Last()).RootElement;
        Assert.That(report.GetProperty("tensors").GetInt32(), Is.EqualTo(147));
        Assert.That(report.GetProperty("metadata").GetProperty("arch").GetString(), Is.EqualTo("resnet20"));
    }

    [Test]
    public void SummaryCountsParametersAndListsLambdas()
    {
        var summary = CheckpointSummary.Load(File("resnet20_mixed_fp16.pth"));
        Assert.That(summary.Arch, Is.EqualTo("resnet20"));
        Assert.That(summary.ArchSource, Is.EqualTo("inferred from keys"));
        Assert.That(summary.Classes, Is.EqualTo(10));
        Assert.That(summary.Levels, Is.Null);
        Assert.That(summary.ParameterCount, Is.EqualTo(272_493));
        Assert.That(summary.Thresholds, Has.Count.EqualTo(19));
        Assert.That(summary.Thresholds[0].Layer, Is.EqualTo("conv1.2"));
        Assert.That(summary.Thresholds.Select(t => t.Lambda), Is.All.InRange(1f, 4f));
        Assert.That(summary.ToString(), Does.Contain("conv2_x.0.relu").And.Contain("272,493"));

        var st = Path.Combine(Dir, "vgg.safetensors");
        var vgg = Checkpoints.Load(File("vgg16_narrow.pth"));
        SafeTensors.Save(st, vgg.Tensors, new ModelMetadata { Arch = "vgg16", Classes = 10, Levels = 8 }.ToDictionary());
        var s2 = CheckpointSummary.Load(st);
        Assert.That((s2.Arch, s2.ArchSource, s2.Levels, s2.Thresholds.Count), Is.EqualTo(("vgg16", "metadata", (int?)8, 15)));
    }

    [Test]
    public void ArchitecturesAreRecognisedFromPyTorchKeys()
    {
        var all = JsonDocument.Parse(System.IO.File.ReadAllText(File("arch_keys.json"))).RootElement;
        foreach (var arch in all.EnumerateObject())
        {
            var shapes = arch.Value.GetProperty("keys").EnumerateArray().ToDictionary(
                kv => kv[0].GetString()!, kv => new Shape(kv[1].EnumerateArray().Select(e => e.GetInt32()).ToArray()));
            var inferred = ArchitectureInference.Infer(shapes);
            Assert.That(inferred?.Arch, Is.EqualTo(arch.Name));
            Assert.That(inferred!.Classes, Is.EqualTo(arch.Value.GetProperty("classes").GetInt32()), arch.Name);
            Assert.That(inferred.Detail, Is.Null, arch.Name);
        }
        var narrow = ArchitectureInference.Infer(Checkpoints.Load(File("vgg16_narrow.pth")).Tensors);
        Assert.That(narrow!.Arch, Is.EqualTo("vgg16"));
        Assert.That(narrow.Detail, Does.Contain("4/8/8/16/16"));
        Assert.That(ArchitectureInference.Infer(new Dictionary<string, Shape> { ["fc.weight"] = new(2, 3) }), Is.Null);
    }

    [Test]
    public void TrainerCheckpointsLoadWithTheirMetadataAndWithoutOptimiserState()
    {
        var model = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Initialize = false });
        Checkpoints.LoadInto(model, File("resnet20_mixed_fp16.pth"));
        var best = Path.Combine(Dir, "best.safetensors");
        TrainingCheckpoint.SaveBest(best, model, ModelMetadata.Of("resnet20", 10, 4, "cifar10", Normalization.Cifar10), 3, new Accuracy(0.5, 0.9, 1.2, 100));
        var c = Checkpoints.Load(best);
        Assert.That((c.Metadata.Arch, c.Metadata.Classes, c.Metadata.Levels, c.Metadata.Dataset), Is.EqualTo(("resnet20", (int?)10, (int?)4, "cifar10")));
        Assert.That(c.Metadata.Normalization!.Std, Is.EqualTo(Normalization.Cifar10.Std));
        Assert.That(c.Metadata.Extra["epoch"], Is.EqualTo("3"));
        Assert.That(CheckpointSummary.From(c).Levels, Is.EqualTo(4));

        var last = Path.Combine(Dir, "last.safetensors");
        var tensors = new Dictionary<string, Tensor>(model.StateDict()) { [ModelMetadata.MomentumPrefix + "fc.weight"] = Tensor.Zeros(new Shape(10, 64)) };
        SafeTensors.Save(last, tensors, c.Metadata.ToDictionary());
        var fresh = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Initialize = false });
        var loaded = Checkpoints.LoadInto(fresh, last);
        Assert.That(loaded.Notes, Has.Some.Contains("optimiser"));
        Assert.That(fresh.StateDict()["fc.weight"].ToArray(), Is.EqualTo(model.StateDict()["fc.weight"].ToArray()));
        Assert.That(() => Checkpoints.LoadInto(fresh, last, expectedArch: "vgg16"), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("metadata says resnet20").And.Message.Contains("vgg16"));
    }

    [Test]
    public void NpyFixturesRead()
    {
        var (data, shape) = Npy.Read(File("input.npy"));
        Assert.That(shape, Is.EqualTo(new[] { 4, 3, 32, 32 }));
        Assert.That(data, Has.Length.EqualTo(4 * 3 * 32 * 32));
        var path = Path.Combine(Dir, "x.npy");
        Npy.Write(path, data, shape);
        var (again, shape2) = Npy.Read(path);
        Assert.That((again, shape2), Is.EqualTo((data, shape)));
    }
}
