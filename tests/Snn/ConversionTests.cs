namespace SpikeEngine.Tests.Snn;

public class ConversionTests
{
    [Test]
    public void FoldedAnnForwardEqualsUnfoldedWithinFloatRounding()
    {
        var ann = SnnTestModels.Cnn(seed: 3, levels: 16);
        ann.Eval();
        using var x = SnnTestModels.Images(4, 1, 28, 1);
        var folded = SnnConverter.FoldedAnn(ann);
        Assert.That(folded.NamedModules().Count(m => m.Module is BatchNorm2d), Is.Zero, "every BN follows a conv and must be folded");
        using var noGrad = Grad.NoGrad();
        var a = ann.Forward(x).ToArray();
        var b = folded.Forward(x).ToArray();
        // QCFS floors: a pre-activation within rounding of a step boundary may land on the other level.
        // Count such flips through the logits: nearly all logits must agree to float rounding.
        double scale = a.Max(Math.Abs);
        int close = a.Zip(b).Count(p => Math.Abs(p.First - p.Second) <= 1e-4 * scale);
        Assert.That(close, Is.GreaterThanOrEqualTo(a.Length - 2), $"logits: {string.Join(", ", a.Take(10))} vs {string.Join(", ", b.Take(10))}");
    }

    [Test]
    public void FoldingOneConvAndBatchNormMatchesTheUnfoldedPair()
    {
        var ann = SnnTestModels.Cnn(seed: 5);
        ann.Eval();
        var block = ann.Child<Sequential>("layer2");
        var conv = (Conv2d)block[0];
        var bn = (BatchNorm2d)block[1];
        var folded = BatchNormFolding.Fold(conv, bn, "layer2.0");
        using var x = SnnTestModels.Images(2, 32, 14, 2);
        using var noGrad = Grad.NoGrad();
        var expected = bn.Forward(conv.Forward(x)).ToArray();
        var actual = folded.Forward(x).ToArray();
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(2e-6 * scale + 1e-6), $"element {i}");
    }

    /// <summary>
    /// Linear(5 → 4) followed by a BatchNorm over its 4 features (eval), with and without a Linear bias: the folded
    /// layer must compute y = γ·(W·x + b − μ) / sqrt(σ² + ε) + β (METHOD.md §2), evaluated here in double by hand.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void FoldingALinearAndItsBatchNormMatchesTheAffineMapComputedByHand(bool linearBias)
    {
        const int inF = 5, outF = 4, batch = 3;
        var rng = new Random(linearBias ? 8 : 9);
        float[] Draw(int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray();
        var w = Draw(outF * inF, -1, 1);
        var b = linearBias ? Draw(outF, -0.5, 0.5) : new float[outF];
        var (gamma, beta, mean, variance) = (Draw(outF, 0.5, 1.5), Draw(outF, -0.3, 0.3), Draw(outF, -0.4, 0.4), Draw(outF, 0.2, 2));
        var x = Draw(batch * inF, -2, 2);

        var linear = new Linear(inF, outF, linearBias);
        linear.Weight.Backend.CopyFromHost(w, linear.Weight);
        if (linearBias) linear.Bias!.Backend.CopyFromHost(b, linear.Bias);
        var bn = new BatchNorm2d(outF);
        foreach (var (t, values) in new[] { (bn.Weight, gamma), (bn.Bias, beta), (bn.RunningMean, mean), (bn.RunningVar, variance) })
            t.Backend.CopyFromHost(values, t);
        bn.Eval();

        var expected = new double[batch * outF];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outF; o++)
            {
                double z = b[o];
                for (int i = 0; i < inF; i++) z += (double)w[o * inF + i] * x[n * inF + i];
                expected[n * outF + o] = gamma[o] * (z - mean[o]) / Math.Sqrt(variance[o] + (double)bn.Eps) + beta[o];
            }

        var folded = BatchNormFolding.Fold(linear, bn, "classifier.1");
        Assert.That(folded, Is.InstanceOf<Linear>());
        using var input = Tensor.FromArray(x, new Shape(batch, inF));
        using var noGrad = Grad.NoGrad();
        using var y = folded.Forward(input);
        Assert.That(y.Shape, Is.EqualTo(new Shape(batch, outF)));
        var actual = y.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5 * (1 + Math.Abs(expected[i]))), $"element {i}");

        // Conversion does the same inside a Sequential: the BN after the Linear is gone and the network computes the map above.
        var ann = new Sequential(linear, bn, new Qcfs(1 << 20, 100f));
        var prepared = SnnConverter.FoldedAnn(ann);
        Assert.That(prepared.NamedModules().Count(m => m.Module is BatchNorm2d), Is.Zero);
        using var q = prepared.Forward(input);
        // QCFS with λ = 100 and L = 2^20 passes every positive value to within 1e-4; negatives clamp to 0.
        var qa = q.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.That(qa[i], Is.EqualTo(Math.Max(0, expected[i])).Within(2e-4), $"converted element {i}");
    }

    [Test]
    public void ConversionReplacesQcfsDropoutAndBatchNormButLeavesTheAnnUntouched()
    {
        var ann = new Sequential(
            new Conv2d(3, 4, 3, 1, 1), new BatchNorm2d(4), new Qcfs(4), new Dropout(0.2f),
            new BasicBlock(4, 8, 2, 4), new GlobalAvgPool2d(), new Linear(8, 5), new BatchNorm2d(5), new Qcfs(4), new Linear(5, 3));
        var before = ann.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var snn = SpikingNetwork.Convert(ann);
        var names = ann.NamedModules().Where(m => m.Module is Qcfs).Select(m => m.Name).ToList();
        Assert.That(snn.IfLayers.Select(l => l.LayerName), Is.EqualTo(names));
        Assert.That(snn.Network.NamedModules().Count(m => m.Module is Qcfs or Dropout or BatchNorm2d), Is.Zero);
        Assert.That(ann.NamedModules().Count(m => m.Module is Qcfs), Is.EqualTo(names.Count), "the ANN keeps its QCFS units");
        Assert.That(ann.NamedModules().Count(m => m.Module is BatchNorm2d), Is.EqualTo(5));
        foreach (var (key, t) in ann.StateDict())
            Assert.That(t.ToArray(), Is.EqualTo(before[key]), key);
        Assert.That(snn.IfLayers[0].Threshold, Is.EqualTo(Qcfs.InitialThreshold));
    }

    [Test]
    public void ModelWithoutQcfsIsRejected()
    {
        var plain = new Sequential(new Conv2d(1, 2, 3), new Flatten());
        Assert.That(() => SpikingNetwork.Convert(plain), Throws.ArgumentException.With.Message.Contains("no QCFS unit"));
    }

    [Test]
    public void NonPositiveLambdaIsRejectedNamingTheLayer()
    {
        var ann = ModelZoo.Create("cnn", 10, 4);
        var q = (Qcfs)ann.Child<Sequential>("layer2")[2];
        q.Up.Backend.Fill(q.Up, -0.5f);
        Assert.That(() => SpikingNetwork.Convert(ann), Throws.ArgumentException.With.Message.Contains("layer2.2").And.Message.Contains("-0.5"));
    }

    [Test]
    public void SimulationSettingsAreRangeChecked()
    {
        Assert.That(() => new SimulationSettings(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("T must be ≥ 1"));
        Assert.That(() => new SimulationSettings(4, -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ρ must be ≥ 0"));
        Assert.That(() => new SimulationSettings(4, 4, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("k must be ≥ 1"));
        Assert.That(new SimulationSettings(2, 4).TotalSteps, Is.EqualTo(4));
    }
}
