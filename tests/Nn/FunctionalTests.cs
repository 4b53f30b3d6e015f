using static SpikeEngine.Tests.Nn.GradCheck;

namespace SpikeEngine.Tests.Nn;

public class FunctionalTests
{
    [TestCase(1, 0, 3)]
    [TestCase(2, 1, 3)]
    [TestCase(2, 2, 5)]
    [TestCase(1, 0, 1)]
    public void Conv2dGradientsMatchFiniteDifferences(int stride, int padding, int kernel)
    {
        var x = Random(new Shape(2, 3, 7, 6), 1);
        var w = Random(new Shape(4, 3, kernel, kernel), 2, 0.5f);
        var b = Random(new Shape(4), 3);
        var probe = Random(new Shape(1, new Shape(2, 4, (7 + 2 * padding - kernel) / stride + 1, (6 + 2 * padding - kernel) / stride + 1).Numel), 4);
        Check(() => WeightedSum(F.Conv2d(x, w, b, stride, padding), probe), [("x", x), ("w", w), ("b", b)]);
    }

    [Test]
    public void LinearGradientsMatchFiniteDifferences()
    {
        var x = Random(new Shape(3, 5), 1);
        var w = Random(new Shape(4, 5), 2);
        var b = Random(new Shape(4), 3);
        var probe = Random(new Shape(1, 12), 4);
        Check(() => WeightedSum(F.Linear(x, w, b), probe), [("x", x), ("w", w), ("b", b)]);
    }

    [Test]
    public void BatchNormTrainingGradientsMatchFiniteDifferences()
    {
        var x = Random(new Shape(3, 2, 3, 3), 1, 2f);
        var gamma = Random(new Shape(2), 2);
        var beta = Random(new Shape(2), 3);
        var mean = Tensor.Zeros(new Shape(2));
        var variance = Tensor.Full(new Shape(2), 1f);
        var probe = Random(new Shape(1, x.Numel), 4);
        Check(() => WeightedSum(F.BatchNorm(x, gamma, beta, mean, variance, training: true), probe),
            [("x", x), ("gamma", gamma), ("beta", beta)], samples: 18);
    }

    [Test]
    public void PoolingGradientsMatchFiniteDifferences()
    {
        var x = Random(new Shape(2, 3, 6, 5), 1);
        var p1 = Random(new Shape(1, 2 * 3 * 3 * 3), 2);
        Check(() => WeightedSum(F.AvgPool2d(x, 3, 2, 1), p1), [("x", x)]);
        var p2 = Random(new Shape(1, 6), 3);
        Check(() => WeightedSum(F.GlobalAvgPool(x), p2), [("x", x)]);
    }

    [Test]
    public void AddReshapeAndCrossEntropyGradientsMatchFiniteDifferences()
    {
        var a = Random(new Shape(4, 3, 1, 1), 1, 2f);
        var b = Random(new Shape(4, 3, 1, 1), 2, 2f);
        int[] labels = [0, 2, 1, 2];
        // b enters twice: the gradients of the two uses must add up.
        Check(() => F.SoftmaxCrossEntropy(F.Flatten(F.Add(F.Add(a, b), b)), labels), [("a", a), ("b", b)]);
    }

    [Test]
    public void DropoutScalesKeptUnitsAndRoutesGradientThroughTheMask()
    {
        var x = Random(new Shape(4, 50), 1);
        var y = F.Dropout(x, 0.3f, training: true, seed: 7);
        var xs = x.Span.ToArray();
        var ys = y.Span.ToArray();
        int dropped = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            if (ys[i] == 0f) dropped++;
            else Assert.That(ys[i], Is.EqualTo(xs[i] / 0.7f).Within(1e-5f));
        }
        Assert.That(dropped, Is.InRange(30, 90)); // 200 units at p = 0.3
        var probe = Random(new Shape(1, 200), 2);
        Check(() => WeightedSum(F.Dropout(x, 0.3f, training: true, seed: 7), probe), [("x", x)], samples: 40);
        Assert.That(F.Dropout(x, 0.3f, training: false, seed: 7), Is.SameAs(x));
    }

    [Test]
    public void QcfsBackwardIsTheStraightThroughRuleOfTheSpec()
    {
        const int levels = 4;
        float lambda = 2f;
        // Quantisation boundaries (q·λ/L ± ½ steps), clamp edges (0, λ) and beyond.
        float[] xs = [-1f, -0.2501f, -0.25f, -0.2499f, 0f, 0.25f, 0.2501f, 0.7f, 1.75f, 1.7499f, 2f, 2.1f, 2.2499f, 2.25f, 3f];
        var x = Tensor.FromArray(xs, new Shape(1, xs.Length));
        var up = Tensor.Full(new Shape(1), lambda);
        var dyValues = xs.Select((_, i) => 0.5f + i * 0.1f).ToArray();
        var probe = Tensor.FromArray(dyValues, new Shape(1, xs.Length));
        x.RequiresGrad = true;
        up.RequiresGrad = true;
        var y = F.Qcfs(x, up, levels);
        var root = WeightedSum(y, probe);
        Grad.Backward(root);
        double dLambda = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double q = Math.Floor(xs[i] * levels / lambda + 0.5) / levels;
            bool inside = q >= 0 && q <= 1;
            double clamped = Math.Clamp(q, 0, 1);
            Assert.That(y.Span[i], Is.EqualTo((float)(lambda * clamped)).Within(1e-6f), $"forward at x = {xs[i]}");
            Assert.That(x.Grad!.Span[i], Is.EqualTo(inside ? dyValues[i] : 0f).Within(1e-6f), $"dx at x = {xs[i]}");
            dLambda += dyValues[i] * (clamped - (inside ? xs[i] / lambda : 0));
        }
        Assert.That(up.Grad!.Item(), Is.EqualTo(dLambda).Within(1e-4));
        Grad.ReleaseGraph(root);
    }

    [Test]
    public void NoGradRecordsNothing()
    {
        var x = Random(new Shape(2, 3), 1);
        var w = Random(new Shape(4, 3), 2);
        w.RequiresGrad = true;
        Tensor y;
        using (Grad.NoGrad()) y = F.Linear(x, w, null);
        Assert.That(y.GradFn, Is.Null);
        Assert.That(y.RequiresGrad, Is.False);
        var z = F.Linear(x, w, null);
        Assert.That(z.GradFn, Is.Not.Null);
    }

    [Test]
    public void BadShapesGetClearErrors()
    {
        var x = Random(new Shape(2, 3, 8, 8), 1);
        Assert.That(() => F.Conv2d(x, Random(new Shape(4, 5, 3, 3), 2), null, layer: "layer1.0"),
            Throws.ArgumentException.With.Message.Contains("layer1.0").And.Message.Contains("3 channels").And.Message.Contains("[4, 5, 3, 3]"));
        Assert.That(() => F.Conv2d(x, Random(new Shape(4, 3, 3, 3), 2), Random(new Shape(5), 3)),
            Throws.ArgumentException.With.Message.Contains("bias"));
        Assert.That(() => F.Linear(Random(new Shape(2, 7), 1), Random(new Shape(4, 5), 2), null, "fc"),
            Throws.ArgumentException.With.Message.Contains("fc").And.Message.Contains("7 features").And.Message.Contains("expects 5"));
        Assert.That(() => F.Linear(x, Random(new Shape(4, 192), 2), null, "fc"),
            Throws.ArgumentException.With.Message.Contains("flatten"));
        Assert.That(() => F.Add(Random(new Shape(2, 3), 1), Random(new Shape(3, 2), 2)),
            Throws.ArgumentException.With.Message.Contains("[2, 3]").And.Message.Contains("[3, 2]"));
        Assert.That(() => F.SoftmaxCrossEntropy(Random(new Shape(2, 3), 1), [0, 3]),
            Throws.ArgumentException.With.Message.Contains("label 3"));
        Assert.That(() => F.SoftmaxCrossEntropy(Random(new Shape(2, 3), 1), [0]),
            Throws.ArgumentException.With.Message.Contains("1 labels"));
        Assert.That(() => F.BatchNorm(x, Tensor.Zeros(new Shape(4)), Tensor.Zeros(new Shape(3)), Tensor.Zeros(new Shape(3)), Tensor.Zeros(new Shape(3)), true, layer: "bn1"),
            Throws.ArgumentException.With.Message.Contains("bn1").And.Message.Contains("weight"));
        Assert.That(() => F.Qcfs(x, Tensor.Zeros(new Shape(2)), 4), Throws.ArgumentException.With.Message.Contains("one element"));
        Assert.That(() => F.AvgPool2d(Random(new Shape(1, 1, 2, 2), 1), 3, 1), Throws.ArgumentException.With.Message.Contains("larger"));
    }

    [Test]
    public void BatchNormInEvalModeRefusesToBackPropagate()
    {
        var x = Random(new Shape(2, 2, 2, 2), 1);
        var gamma = Tensor.Full(new Shape(2), 1f);
        gamma.RequiresGrad = true;
        var y = F.BatchNorm(x, gamma, Tensor.Zeros(new Shape(2)), Tensor.Zeros(new Shape(2)), Tensor.Full(new Shape(2), 1f), training: false, layer: "conv1.1");
        var loss = WeightedSum(y, Random(new Shape(1, 16), 2));
        Assert.That(() => Grad.Backward(loss), Throws.TypeOf<NotSupportedException>().With.Message.Contains("conv1.1").And.Message.Contains("evaluation mode"));
    }
}
