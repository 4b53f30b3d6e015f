using static SpikeEngine.Tests.Nn.GradCheck;

namespace SpikeEngine.Tests.Nn;

public class ModuleTests
{
    // With a very fine quantisation (L = 2^20) QCFS is, at finite-difference resolution, λ·clamp(x/λ, 0, 1),
    // whose exact derivatives are the straight-through rule of engine/METHOD.md §1: dx = [0 ≤ x ≤ λ], dλ = clamp − x/λ·[inside].
    private const int FineLevels = 1 << 20;

    private static void Perturb(Module model, int seed)
    {
        Initialization.Reference(model, seed);
        // λ small enough that some units saturate, so both branches of the λ gradient are exercised.
        foreach (var (_, q) in ModelZoo.QcfsUnits(model)) q.Up.Span[0] = 1.5f;
        var rng = new Random(seed);
        foreach (var (name, t) in model.NamedParameters())
            if (name.EndsWith(".bias") || (name.EndsWith(".weight") && t.Rank == 1))
                for (int i = 0; i < t.Numel; i++) t.Span[i] += (float)(rng.NextDouble() - 0.5) * 0.4f;
    }

    [Test]
    public void TinyVggStyleNetworkGradientsMatchFiniteDifferencesIncludingLambda()
    {
        var model = new Sequential(
            new Conv2d(2, 4, 3, 1, 1), new BatchNorm2d(4), new Qcfs(FineLevels), new AvgPool2d(2, 2),
            new Flatten(), new Linear(4 * 3 * 3, 6), new Qcfs(FineLevels), new Linear(6, 3));
        Perturb(model, 5);
        var x = Random(new Shape(4, 2, 6, 6), 9, 2f);
        int[] labels = [0, 1, 2, 1];
        Check(() => F.SoftmaxCrossEntropy(model.Forward(x), labels), model.NamedParameters(), samples: 8);
    }

    [Test]
    public void TinyResidualNetworkGradientsMatchFiniteDifferencesIncludingLambda()
    {
        var model = new Sequential(
            new Conv2d(2, 4, 3, 1, 1, bias: false), new BatchNorm2d(4), new Qcfs(FineLevels),
            new BasicBlock(4, 4, 1, FineLevels), new BasicBlock(4, 6, 2, FineLevels),
            new GlobalAvgPool2d(), new Linear(6, 3));
        Perturb(model, 6);
        var x = Random(new Shape(3, 2, 6, 6), 10, 2f);
        int[] labels = [2, 0, 1];
        Check(() => F.SoftmaxCrossEntropy(model.Forward(x), labels), model.NamedParameters(), samples: 6);
    }

    [Test]
    public void BatchNormTracksRunningStatisticsInTrainingAndUsesThemInEval()
    {
        var bn = new BatchNorm2d(2);
        // Channel 0 holds 0..7, channel 1 holds 10 everywhere.
        var data = new float[16];
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 4; i++) { data[n * 8 + i] = n * 4 + i; data[n * 8 + 4 + i] = 10f; }
        var x = Tensor.FromArray(data, new Shape(2, 2, 2, 2));
        using (Grad.NoGrad()) bn.Forward(x);
        // batch mean 3.5 and 10; unbiased variance 6 and 0; momentum 0.1.
        Assert.That(bn.RunningMean.Span.ToArray(), Is.EqualTo(new[] { 0.35f, 1f }).Within(1e-5f));
        Assert.That(bn.RunningVar.Span.ToArray(), Is.EqualTo(new[] { 0.9f + 0.6f, 0.9f }).Within(1e-5f));
        Assert.That(bn.NumBatchesTracked.Item(), Is.EqualTo(1f));
        bn.Eval();
        Tensor y;
        using (Grad.NoGrad()) y = bn.Forward(x);
        Assert.That(bn.NumBatchesTracked.Item(), Is.EqualTo(1f));
        Assert.That(y.Span[0], Is.EqualTo((0f - 0.35f) / MathF.Sqrt(1.5f + 1e-5f)).Within(1e-5f));
        Assert.That(y.Span[4], Is.EqualTo((10f - 1f) / MathF.Sqrt(0.9f + 1e-5f)).Within(1e-4f));
    }

    [Test]
    public void DropoutModuleDrawsANewMaskEachCallAndIsIdentityInEval()
    {
        var d = new Dropout(0.5f, seed: 3);
        var x = Tensor.Full(new Shape(1, 64), 1f);
        Tensor a, b;
        using (Grad.NoGrad()) { a = d.Forward(x); b = d.Forward(x); }
        Assert.That(a.Span.ToArray(), Is.Not.EqualTo(b.Span.ToArray()));
        d.Eval();
        Assert.That(d.Forward(x), Is.SameAs(x));
    }

    /// <summary>Passes Forward through to the wrapped module and keeps every tensor it returned.</summary>
    private sealed class Spy(Module inner, List<(string Name, Tensor Output)> seen, string name) : Module
    {
        public override Tensor Forward(Tensor x)
        {
            var y = inner.Forward(x);
            seen.Add((name, y));
            return y;
        }
    }

    /// <summary>Wraps every module below <paramref name="parent"/> in a <see cref="Spy"/> (depth first, so containers see their wrapped children).</summary>
    private static void WrapAll(Module parent, List<(string, Tensor)> seen, string prefix = "")
    {
        foreach (var (name, child) in parent.Children().ToList())
        {
            string path = prefix.Length == 0 ? name : prefix + "." + name;
            WrapAll(child, seen, path);
            parent.SetChild(name, new Spy(child, seen, path));
        }
    }

    /// <summary>Runs ResNet-20 (residual blocks with and without a projection shortcut) with every layer's output recorded.</summary>
    private static (Tensor Input, Tensor Output, List<(string Name, Tensor Output)> Seen) RecordedResNetForward(bool gradients)
    {
        var model = ModelZoo.Create("resnet20", 10, 4);
        model.Eval();
        var seen = new List<(string, Tensor)>();
        WrapAll(model, seen);
        var x = Random(new Shape(2, 3, 32, 32), 1);
        Tensor y;
        if (gradients) y = model.Forward(x);
        else using (Grad.NoGrad()) y = model.Forward(x);
        return (x, y, seen);
    }

    [Test]
    public void EvaluationReleasesEveryIntermediateButNotTheInputOrOutput()
    {
        var (x, y, seen) = RecordedResNetForward(gradients: false);
        // conv1 (3) + 9 blocks × (residual 5 + shortcut + relu) + 2 projections × 2 + avg_pool + fc, plus containers.
        Assert.That(seen.Count, Is.GreaterThan(80), "every layer's output was recorded");
        Assert.That(x.IsDisposed, Is.False);
        Assert.That(y.IsDisposed, Is.False);
        Assert.That(y.Shape, Is.EqualTo(new Shape(2, 10)));
        // What is still alive after the forward: only tensors that are the input or the output (an identity
        // shortcut returns its input; the last layer's output is the model's).
        var alive = seen.Where(s => !s.Output.IsDisposed && !ReferenceEquals(s.Output.Storage, x.Storage) && !ReferenceEquals(s.Output.Storage, y.Storage))
            .Select(s => s.Name).ToList();
        Assert.That(alive, Is.Empty, "intermediates not returned to the buffer pool");
        Assert.That(seen.Count(s => s.Output.IsDisposed), Is.GreaterThan(70));
    }

    [Test]
    public void WithGradientsNoIntermediateIsReleased()
    {
        // The recorded graph refers to the intermediates, so none may be disposed.
        var (_, _, seen) = RecordedResNetForward(gradients: true);
        Assert.That(seen.Where(s => s.Output.IsDisposed).Select(s => s.Name), Is.Empty);
    }
}
