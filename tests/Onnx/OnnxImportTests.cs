using Google.Protobuf;
using SpikeEngine.IO.Onnx;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Tests.IO;

namespace SpikeEngine.Tests.Onnx;

/// <summary>
/// ONNX files written by PyTorch 1.13 (tools/onnx/make_onnx_fixtures.py) imported and run by the engine: logits equal
/// PyTorch's within 1e-4; bad files and unsupported ops end in clear errors.
/// </summary>
public sealed class OnnxImportTests() : TempFolderTests("onnx_import")
{
    internal static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "onnx", name);

    [TestCase("small_cnn")]
    [TestCase("resnet20")]
    [TestCase("matmul_mlp")]
    public void LogitsEqualPyTorch(string name)
    {
        var imported = OnnxImporter.Import(Fixture(name + ".onnx"));
        var network = imported.CreateNetwork();
        var (expected, shape) = Npy.Read(Fixture(name + "_logits.npy"));
        var actual = CheckpointFixtures.Logits(network, Fixture(name + "_input.npy"), shape);
        Assert.That(actual, Is.EqualTo(expected).Within(1e-4f));
        Assert.That(imported.Classes, Is.EqualTo(shape[1]));
    }

    [Test]
    public void SmallCnnGraphHasTheExpectedLayers()
    {
        var imported = OnnxImporter.Import(Fixture("small_cnn.onnx"));
        var ops = imported.Spec.Nodes.Select(n => n.Op).ToList();
        // Conv+BN pairs are one node; the BN after the residual add stays on its own.
        Assert.That(ops.Count(o => o == GraphOps.Conv), Is.EqualTo(5));
        Assert.That(imported.Spec.Nodes.Count(n => n.Op == GraphOps.Conv && n.GetOr("batchnorm", 0) == 1), Is.EqualTo(2));
        Assert.That(ops, Does.Contain(GraphOps.BatchNorm).And.Contain(GraphOps.Add).And.Contain(GraphOps.Concat)
            .And.Contain(GraphOps.AvgPool).And.Contain(GraphOps.GlobalAvgPool).And.Contain(GraphOps.Linear));
        Assert.That(imported.Spec.Nodes.Count(n => n.Op == GraphOps.Relu && n.Settings.ContainsKey("max")), Is.EqualTo(1), "ReLU6 = Relu + Clip(0, 6), one unit");
        Assert.That(ops.Count(o => o == GraphOps.Relu), Is.EqualTo(5));
        Assert.That(imported.Opset, Is.EqualTo(13));
        Assert.That(imported.Producer, Does.StartWith("pytorch"));
    }

    [Test]
    public void UnsupportedOpNamesNodeOpAndSupportedSet()
    {
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(Fixture("unsupported_op.onnx")))!;
        Assert.That(e.Message, Does.Contain("Sigmoid").And.Contain("node '").And.Contain("Supported: Conv"));
    }

    [Test]
    public void MaxPoolIsRefusedUnlessSwapped()
    {
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(Fixture("maxpool_cnn.onnx")))!;
        Assert.That(e.Message, Does.Contain("(MaxPool)").And.Contain("--maxpool_to_avgpool"));
        var swapped = OnnxImporter.Import(Fixture("maxpool_cnn.onnx"), new OnnxImportOptions { MaxPoolToAvgPool = true });
        Assert.That(swapped.Spec.Nodes.Select(n => n.Op), Does.Contain(GraphOps.AvgPool));
        Assert.That(swapped.Notes.Single(), Does.Contain("MaxPool 2×2 stride 2 replaced by AveragePool"));
    }

    [TestCase(new byte[0], "no graph")]
    [TestCase(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, "not a valid ONNX file")]
    [TestCase(new byte[] { 0x08, 0x07 }, "no graph")]
    public void MalformedFilesGiveCleanErrors(byte[] bytes, string message)
    {
        var path = Path.Combine(Dir, "bad.onnx");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(path))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain(message));
    }

    [Test]
    public void TruncatedFileGivesCleanError()
    {
        var bytes = File.ReadAllBytes(Fixture("small_cnn.onnx"));
        var path = Path.Combine(Dir, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(path))!;
        Assert.That(e.Message, Does.Contain(path));
    }

    [TestCase(10, false)]
    [TestCase(11, true)]
    [TestCase(18, true)]
    [TestCase(19, false)]
    public void OpsetRange(int opset, bool accepted)
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Fixture("small_cnn.onnx")));
        model.OpsetImport.Single(o => o.Domain == "").Version = opset;
        var path = Path.Combine(Dir, $"opset{opset}.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        if (accepted) Assert.That(OnnxImporter.Import(path).Opset, Is.EqualTo(opset));
        else Assert.That(Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(path))!.Message, Does.Contain($"opset {opset} is not supported"));
    }

    /// <summary>The same model with every initialiser moved to one data file beside it (ONNX external data).</summary>
    [Test]
    public void ExternalDataBesideTheFile()
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Fixture("small_cnn.onnx")));
        using (var data = File.Create(Path.Combine(Dir, "weights.bin")))
        {
            foreach (var t in model.Graph.Initializer)
            {
                if (t.RawData.Length == 0) continue;
                long offset = data.Position;
                data.Write(t.RawData.Span);
                t.DataLocation = global::Onnx.TensorProto.Types.DataLocation.External;
                t.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "location", Value = "weights.bin" });
                t.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                t.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString() });
                t.ClearRawData();
            }
        }
        var path = Path.Combine(Dir, "external.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        Assert.That(new FileInfo(path).Length, Is.LessThan(new FileInfo(Fixture("small_cnn.onnx")).Length / 2));
        var network = OnnxImporter.Import(path).CreateNetwork();
        var (expected, shape) = Npy.Read(Fixture("small_cnn_logits.npy"));
        Assert.That(CheckpointFixtures.Logits(network, Fixture("small_cnn_input.npy"), shape), Is.EqualTo(expected).Within(1e-4f));

        File.Delete(Path.Combine(Dir, "weights.bin"));
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(path))!;
        Assert.That(e.Message, Does.Contain("weights.bin").And.Contain("does not exist"));
    }

    [Test]
    public void GraphSpecRoundTripsThroughJson()
    {
        var spec = OnnxImporter.Import(Fixture("small_cnn.onnx")).Spec;
        var again = GraphSpec.FromJson(spec.ToJson(), "test");
        Assert.That(again.ToJson(), Is.EqualTo(spec.ToJson()));
        var e = Assert.Throws<InvalidDataException>(() => GraphSpec.FromJson(spec.ToJson().Replace("\"concat\"", "\"softmax\""), "x.safetensors"))!;
        Assert.That(e.Message, Does.Contain("unknown op 'softmax'"));
    }
}
