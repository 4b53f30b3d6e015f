using static SpikeEngine.Tests.IO.CheckpointFixtures;

namespace SpikeEngine.Tests.IO;

public class PyTorchCheckpointTests
{
    [Test]
    public void ReadsEveryDtypeOffsetAndStrideLikePyTorch()
    {
        var c = PyTorchCheckpoint.Load(File("dtypes.pth"));
        var expected = JsonDocument.Parse(System.IO.File.ReadAllText(File("dtypes.json"))).RootElement;
        Assert.That(c.Tensors.Keys, Is.EqualTo(expected.EnumerateObject().Select(p => p.Name).ToArray()), "keys in file order");
        foreach (var entry in expected.EnumerateObject())
        {
            var t = c.Tensors[entry.Name];
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var values = entry.Value.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Assert.That(t.Shape, Is.EqualTo(new Shape(shape)), entry.Name);
            Assert.That(t.ToArray(), Is.EqualTo(values), entry.Name);
        }
        Assert.That(c.Dtypes["f16"], Is.EqualTo(TorchDtype.Float16));
        Assert.That(c.Dtypes["bn.num_batches_tracked"], Is.EqualTo(TorchDtype.Int64));
        Assert.That(c.Notes, Has.Some.Contains("Float16").And.Some.Contains("BFloat16").And.Some.Contains("Float64"));
        Assert.That(c.Container, Is.Null);
    }

    [Test]
    public void ReadsResNet20WithMixedFloat16Storages()
    {
        var c = PyTorchCheckpoint.Load(File("resnet20_mixed_fp16.pth"));
        Assert.That(c.Tensors, Has.Count.EqualTo(147));
        Assert.That(c.Tensors.Keys.First(), Is.EqualTo("conv1.0.weight"));
        Assert.That(c.Tensors["conv1.0.weight"].Shape, Is.EqualTo(new Shape(16, 3, 3, 3)));
        Assert.That(c.Dtypes["conv1.0.weight"], Is.EqualTo(TorchDtype.Float16));
        Assert.That(c.Dtypes["conv1.1.running_var"], Is.EqualTo(TorchDtype.Float32));
        Assert.That(c.Tensors["conv1.1.num_batches_tracked"].Item(), Is.EqualTo(4f));
        Assert.That(c.Notes, Has.Some.Contains("Float16"));
    }

    [Test]
    public void NonContiguousViewsAndWrappedDataParallelKeysGiveTheSameTensors()
    {
        var bare = PyTorchCheckpoint.Load(File("vgg16_narrow.pth"));
        var wrapped = PyTorchCheckpoint.Load(File("vgg16_narrow_wrapped.pth"));
        Assert.That(wrapped.Container, Is.EqualTo("state_dict"));
        Assert.That(wrapped.Notes, Has.Some.Contains("module."));
        Assert.That(bare.Tensors.Keys, Is.EqualTo(wrapped.Tensors.Keys));
        Assert.That(bare.Tensors.Keys, Has.Member("layer3.4.weight").And.Member("classifier.7.bias"));
        foreach (var key in bare.Tensors.Keys)
        {
            Assert.That(bare.Tensors[key].Shape, Is.EqualTo(wrapped.Tensors[key].Shape), key);
            Assert.That(bare.Tensors[key].ToArray(), Is.EqualTo(wrapped.Tensors[key].ToArray()), key);
        }
        // the non-contiguous tensor really was transposed in its storage: its values are not all zero
        Assert.That(bare.Tensors["layer3.4.weight"].ToArray().Count(v => v != 0), Is.GreaterThan(100));
    }

    [Test]
    public void StateDictUnderNetIsFoundAndOtherEntriesIgnored()
    {
        var c = PyTorchCheckpoint.Load(File("wrapped_net.pth"));
        Assert.That(c.Container, Is.EqualTo("net"));
        Assert.That(c.Tensors.Keys, Is.EqualTo(new[] { "fc.weight", "fc.bias" }));
        Assert.That(c.Tensors["fc.weight"].ToArray(), Is.EqualTo(new[] { 0f, 0.125f, 0.25f, 0.75f, 0.875f, 1f }));
    }

    [Test]
    public void PathWithoutExtensionIsResolved()
    {
        var c = Checkpoints.Load(Path.Combine(Folder, "vgg16_narrow"));
        Assert.That(c.Path, Does.EndWith("vgg16_narrow.pth"));
        Assert.That(c.Format, Is.EqualTo(CheckpointFormat.PyTorch));
        Assert.That(() => Checkpoints.Load(Path.Combine(Folder, "no_such_model")),
            Throws.TypeOf<FileNotFoundException>().With.Message.Contains("no_such_model").And.Message.Contains(".pth"));
    }

    [Test]
    public void ExportedPthReadsBackIdenticallyAndIsDeterministic()
    {
        var source = PyTorchCheckpoint.Load(File("dtypes.pth")).Tensors;
        var a = new MemoryStream();
        PyTorchCheckpoint.Write(a, source);
        var b = new MemoryStream();
        PyTorchCheckpoint.Write(b, source);
        Assert.That(a.ToArray(), Is.EqualTo(b.ToArray()));
        var path = Path.Combine(Path.GetTempPath(), $"spike_export_{Guid.NewGuid():N}.pth");
        try
        {
            System.IO.File.WriteAllBytes(path, a.ToArray());
            var back = PyTorchCheckpoint.Load(path);
            Assert.That(back.Tensors.Keys, Is.EqualTo(source.Keys));
            foreach (var (key, t) in source)
            {
                Assert.That(back.Tensors[key].Shape, Is.EqualTo(t.Shape), key);
                Assert.That(back.Tensors[key].ToArray(), Is.EqualTo(t.ToArray()), key);
                Assert.That(back.Dtypes[key], Is.EqualTo(key.EndsWith("num_batches_tracked") ? TorchDtype.Int64 : TorchDtype.Float32), key);
            }
        }
        finally { System.IO.File.Delete(path); }
    }

    [Test]
    public void ExportedDataRecordsAre64ByteAlignedLikeTorchSave()
    {
        var source = PyTorchCheckpoint.Load(File("vgg16_narrow.pth")).Tensors;
        var s = new MemoryStream();
        PyTorchCheckpoint.Write(s, source);
        var bytes = s.ToArray();
        int records = 0;
        for (int at = 0; at + 30 < bytes.Length && BitConverter.ToUInt32(bytes, at) == 0x04034b50; records++)
        {
            int nameLen = BitConverter.ToUInt16(bytes, at + 26), extraLen = BitConverter.ToUInt16(bytes, at + 28);
            int size = BitConverter.ToInt32(bytes, at + 18);
            int data = at + 30 + nameLen + extraLen;
            Assert.That(data % 64, Is.Zero, System.Text.Encoding.ASCII.GetString(bytes, at + 30, nameLen));
            at = data + size;
        }
        Assert.That(records, Is.EqualTo(source.Count + 3)); // data.pkl, byteorder, version
    }
}

public class Crc32Tests
{
    [Test]
    public void MatchesTheStandardCheckValueAndTheBytewiseDefinition()
    {
        Assert.That(Crc32.Compute("123456789"u8), Is.EqualTo(0xCBF43926u)); // the CRC-32/ISO-HDLC check value
        var data = new byte[1000];
        new Random(3).NextBytes(data);
        for (int length = 0; length < 40; length++)
            Assert.That(Crc32.Compute(data.AsSpan(0, length * 25)), Is.EqualTo(Bytewise(data.AsSpan(0, length * 25))), $"length {length * 25}");
    }

    private static uint Bytewise(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
