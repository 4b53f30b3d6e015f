using static SpikeEngine.Tests.IO.CheckpointFixtures;

namespace SpikeEngine.Tests.IO;

public class BadCheckpointTests() : TempFolderTests("spike_badckpt")
{
    private string Truncated(string fixture, double fraction)
    {
        var bytes = System.IO.File.ReadAllBytes(File(fixture));
        var path = Path.Combine(Dir, "truncated_" + fixture);
        System.IO.File.WriteAllBytes(path, bytes[..(int)(bytes.Length * fraction)]);
        return path;
    }

    [TestCase(0.5)]
    [TestCase(0.999)]
    public void TruncatedZipNamesTheFile(double fraction)
    {
        var path = Truncated("vgg16_narrow.pth", fraction);
        Assert.That(() => Checkpoints.Load(path), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains(path).And.Message.Contains("truncated"));
    }

    [Test]
    public void StorageRecordOfTheWrongSizeIsNamed()
    {
        // a well-formed zip whose first storage record lost its last 4 bytes
        var path = Path.Combine(Dir, "short_record.pth");
        using (var source = System.IO.Compression.ZipFile.OpenRead(File("dtypes.pth")))
        using (var target = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        {
            foreach (var entry in source.Entries)
            {
                using var input = entry.Open();
                var bytes = new MemoryStream();
                input.CopyTo(bytes);
                var data = bytes.ToArray();
                if (entry.FullName == "dtypes/data/0") data = data[..^4];
                using var output = target.CreateEntry(entry.FullName, System.IO.Compression.CompressionLevel.NoCompression).Open();
                output.Write(data);
            }
        }
        Assert.That(() => Checkpoints.Load(path), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("dtypes/data/0").And.Message.Contains(path));
    }

    [Test]
    public void UnknownPickleGlobalIsNamed()
        => Assert.That(() => Checkpoints.Load(File("unknown_global.pth")), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("argparse.Namespace").And.Message.Contains("unknown_global.pth"));

    [Test]
    public void StringWhereAWeightBelongsNamesTheKey()
        => Assert.That(() => Checkpoints.Load(File("string_weight.pth")), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("'conv.weight'").And.Message.Contains("string").And.Message.Contains("string_weight.pth"));

    [Test]
    public void IntegerTensorWhereAWeightBelongsNamesTheKey()
        => Assert.That(() => Checkpoints.Load(File("int_weight.pth")), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("'fc.weight'").And.Message.Contains("Int64").And.Message.Contains("floating point"));

    [Test]
    public void IntegerSafeTensorWhereAWeightBelongsNamesTheKey()
    {
        var path = Path.Combine(Dir, "int.safetensors");
        var header = System.Text.Encoding.UTF8.GetBytes("{\"fc.weight\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}");
        var bytes = new byte[8 + header.Length + 8];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        bytes[8 + header.Length] = 3;
        System.IO.File.WriteAllBytes(path, bytes);
        Assert.That(() => Checkpoints.Load(path), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("'fc.weight'").And.Message.Contains("I64").And.Message.Contains(path));
    }

    [Test]
    public void LegacyFormatIsAClearError()
        => Assert.That(() => Checkpoints.Load(File("legacy.pth")), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("legacy").And.Message.Contains("legacy.pth"));

    [TestCase(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, "not a PyTorch checkpoint")]
    [TestCase(new byte[0], "empty")]
    public void UnknownBytesAreAClearError(byte[] content, string expected)
    {
        var path = Path.Combine(Dir, "junk.pth");
        System.IO.File.WriteAllBytes(path, content);
        Assert.That(() => Checkpoints.Load(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains(expected).And.Message.Contains(path));
    }

    [Test]
    public void WrongArchitectureForTheFileIsNamed()
    {
        var resnet = Checkpoints.Load(File("resnet20_mixed_fp16.pth"));
        Assert.That(() => Checkpoints.CheckArchitecture(resnet, "vgg16"), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("look like resnet20").And.Message.Contains("vgg16").And.Message.Contains("resnet20_mixed_fp16.pth"));
        Assert.That(() => Checkpoints.CheckArchitecture(resnet, "resnet20"), Throws.Nothing);
    }
}
