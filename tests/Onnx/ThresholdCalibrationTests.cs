using SpikeEngine.Calibration;
using SpikeEngine.Nn.Graph;

namespace SpikeEngine.Tests.Onnx;

/// <summary>Data-based thresholds (METHOD.md §9) against a plain reference: all positive ReLU outputs, sorted, numpy's percentile.</summary>
public sealed class ThresholdCalibrationTests
{
    private static GraphSpec Spec(bool clip) => new("x", [1, 6, 6], "logits",
    [
        new GraphNode("conv", GraphOps.Conv, ["x"], "c", new Dictionary<string, double> { ["in"] = 1, ["out"] = 3, ["kernel"] = 3, ["stride"] = 1, ["padding"] = 1, ["bias"] = 1 }),
        new GraphNode("act", GraphOps.Relu, ["c"], "a", clip ? new Dictionary<string, double> { ["max"] = 0.3 } : new Dictionary<string, double>()),
        new GraphNode("flat", GraphOps.Flatten, ["a"], "f", new Dictionary<string, double>()),
        new GraphNode("fc", GraphOps.Linear, ["f"], "logits", new Dictionary<string, double> { ["in"] = 108, ["out"] = 4, ["bias"] = 1 }),
    ]);

    private static GraphNetwork Network(bool clip, int seed)
    {
        var net = new GraphNetwork(Spec(clip));
        var rng = new Random(seed);
        net.LoadStateDict(net.StateDict().ToDictionary(kv => kv.Key,
            kv => Tensor.FromArray(Enumerable.Range(0, kv.Value.Numel).Select(_ => (float)(rng.NextDouble() - 0.4)).ToArray(), kv.Value.Shape)));
        net.Eval();
        return net;
    }

    private static InMemoryImageDataset Images(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * 36];
        rng.NextBytes(pixels);
        return new InMemoryImageDataset("random", 1, 6, 6, pixels, new int[count], ["a", "b", "c", "d"]);
    }

    /// <summary>numpy.percentile(values, p) with its default linear interpolation.</summary>
    private static double Percentile(List<float> values, double p)
    {
        values.Sort();
        double rank = p / 100 * (values.Count - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, values.Count - 1);
        return values[lo] + (rank - lo) * (values[hi] - values[lo]);
    }

    [TestCase(false, 99.99, 7)]
    [TestCase(false, 50.0, 7)]
    [TestCase(true, 99.0, 5)]
    public void LambdaIsThePercentileOfPositiveActivations(bool clip, double percentile, int images)
    {
        var net = Network(clip, 1);
        var data = Images(10, 2);
        var normalization = Normalization.None(1);
        // Reference: the conv output of the first `images` images, clamped, positive values only.
        var positive = new List<float>();
        using (Grad.NoGrad())
        {
            foreach (var batch in new DataLoader(data, 3, normalization).Epoch())
                using (batch)
                {
                    using var c = net.Child("conv").Forward(batch.Images);
                    var v = c.ToArray();
                    int perImage = v.Length / batch.Size;
                    for (int b = 0; b < batch.Size; b++)
                    {
                        if (batch.Indices[b] >= images) continue;
                        for (int i = 0; i < perImage; i++)
                        {
                            float a = Math.Min(Math.Max(v[b * perImage + i], 0f), clip ? 0.3f : float.PositiveInfinity);
                            if (a > 0) positive.Add(a);
                        }
                    }
                }
        }
        float max = positive.Max();
        double expected = Percentile(positive, percentile);

        var layers = ThresholdCalibration.Calibrate(net, new DataLoader(data, 3, normalization),
            new CalibrationSettings { Percentile = percentile, Images = images, Levels = 4 }, Device.Cpu);
        var layer = layers.Single();
        Assert.That(layer.PositiveActivations, Is.EqualTo(positive.Count), "only the first N images count");
        Assert.That(layer.MaxActivation, Is.EqualTo(max));
        Assert.That(layer.Lambda, Is.EqualTo(expected).Within(1e-6 * max), "exact, as numpy");

        // The ReLU is now QCFS(L = 4, λ) in the module tree and in the graph that checkpoints record.
        var qcfs = net.Child<Qcfs>("act");
        Assert.That((qcfs.Levels, qcfs.Up.Item()), Is.EqualTo((4, layer.Lambda)));
        var node = net.Spec.Nodes.Single(n => n.Name == "act");
        Assert.That((node.Op, node.GetInt("levels")), Is.EqualTo((GraphOps.Qcfs, 4)));
        Assert.That(SnnConverter.Convert(net).IfLayers, Has.Count.EqualTo(1));
    }

    [Test]
    public void ConversionRefusesAnUncalibratedNetwork()
    {
        var e = Assert.Throws<ArgumentException>(() => SnnConverter.Convert(Network(false, 1)))!;
        Assert.That(e.Message, Does.Contain("'act'").And.Contain("calibrate"));
    }

    [Test]
    public void BadSettingsAreRefused()
    {
        var net = Network(false, 1);
        var loader = new DataLoader(Images(2, 1), 2, Normalization.None(1));
        Assert.That(() => ThresholdCalibration.Calibrate(net, loader, new CalibrationSettings { Percentile = 0 }, Device.Cpu),
            Throws.ArgumentException.With.Message.Contains("percentile"));
        ThresholdCalibration.Calibrate(net, loader, new CalibrationSettings(), Device.Cpu);
        Assert.That(() => ThresholdCalibration.Calibrate(net, loader, new CalibrationSettings(), Device.Cpu),
            Throws.ArgumentException.With.Message.Contains("no ReLU to calibrate"));
    }
}

/// <summary>An imported graph with residual Add, Concat, Clip and a standalone BatchNorm converts and simulates.</summary>
public sealed class ImportedGraphConversionTests
{
    [Test]
    public void CalibratedSmallCnnFoldsAndSimulates()
    {
        var network = SpikeEngine.IO.Onnx.OnnxImporter.Import(OnnxImportTests.Fixture("small_cnn.onnx")).CreateNetwork();
        var rng = new Random(4);
        var pixels = new byte[16 * 3 * 16 * 16];
        rng.NextBytes(pixels);
        var images = new InMemoryImageDataset("random", 3, 16, 16, pixels, new int[16], ["0", "1", "2", "3", "4"]);
        var layers = ThresholdCalibration.Calibrate(network, new DataLoader(images, 8, Normalization.None(3)), new CalibrationSettings { Levels = 4 }, Device.Cpu);
        Assert.That(layers, Has.Count.EqualTo(5), "4 ReLUs and the ReLU6 (exported as Relu + Clip(0, 6), imported as one unit)");

        var (input, shape) = Npy.Read(OnnxImportTests.Fixture("small_cnn_input.npy"));
        using var noGrad = Grad.NoGrad();
        using var x = Tensor.FromArray(input, new Shape(shape));
        var ann = network.Forward(x).ToArray();
        var folded = SnnConverter.FoldedAnn(network).Forward(x).ToArray();
        Assert.That(folded, Is.EqualTo(ann).Within(1e-4f), "BatchNorm folded into the convolution of each Conv+BN node");

        var snn = SnnConverter.Convert(network);
        Assert.That(snn.IfLayers, Has.Count.EqualTo(5));
        Assert.That(snn.StateDict().Keys, Has.None.StartWith("conv1_Conv.1.").And.None.StartWith("conv2_Conv.1."), "folded Conv+BN pairs keep only the conv's keys");
        using var outputs = snn.Simulate(x, new SimulationSettings(8, 4));
        Assert.That(outputs.Shape, Is.EqualTo(new Shape(8 * shape[0], 5)));
    }
}
