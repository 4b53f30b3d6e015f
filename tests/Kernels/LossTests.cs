using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class LossTests
{
    [TestCase(1, 2)]
    [TestCase(5, 10)]
    [TestCase(64, 10)]
    [TestCase(3, 100)]
    [TestCase(7, 1000)]
    public void CrossEntropyAndGradientMatchReference(int n, int classes)
    {
        var rng = new Random(n * classes);
        var logits = Uniform(rng, n * classes, -4f, 4f);
        var labels = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        using var tl = T(logits, n, classes); using var dl = T(new float[logits.Length], n, classes);
        float loss = Cpu(2).SoftmaxCrossEntropy(tl, labels, dl);
        double expected = ReferenceOps.SoftmaxCrossEntropy(D(logits), labels, n, classes);
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5 * Math.Max(1, expected)));
        AssertClose(dl.Span, FiniteDifference(ls => ReferenceOps.SoftmaxCrossEntropy(ls, labels, n, classes), D(logits), 1e-4), 1e-4, 1e-7, "dlogits");
        Assert.That(Cpu(1).SoftmaxCrossEntropy(tl, labels, null), Is.EqualTo(loss), "without gradient");
    }

    [TestCase(1, 2, 0.1f)]
    [TestCase(64, 10, 0.1f)]
    [TestCase(7, 1000, 0.3f)]
    [TestCase(5, 10, 0.99f)]
    public void LabelSmoothingMatchesTheDefinitionAndItsGradient(int n, int classes, float smoothing)
    {
        var rng = new Random(n + classes);
        var logits = Uniform(rng, n * classes, -4f, 4f);
        var labels = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        using var tl = T(logits, n, classes); using var dl = T(new float[logits.Length], n, classes);
        float loss = Cpu(2).SoftmaxCrossEntropy(tl, labels, dl, smoothing);
        double expected = ReferenceOps.SmoothedCrossEntropy(D(logits), labels, n, classes, smoothing);
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5 * Math.Max(1, expected)));
        AssertClose(dl.Span, FiniteDifference(ls => ReferenceOps.SmoothedCrossEntropy(ls, labels, n, classes, smoothing), D(logits), 1e-4), 1e-4, 1e-7, "dlogits");
        Assert.That(loss, Is.Not.EqualTo(Cpu(1).SoftmaxCrossEntropy(tl, labels, null)), "smoothing changes the loss");
        Assert.That(ReferenceOps.SmoothedCrossEntropy(D(logits), labels, n, classes, 0),
            Is.EqualTo(ReferenceOps.SoftmaxCrossEntropy(D(logits), labels, n, classes)).Within(1e-9), "ε = 0 is the plain loss");
    }

    [Test]
    public void LabelSmoothingOutsideZeroToOneIsRefused()
    {
        using var tl = T([1f, 2f, 3f, 4f], 2, 2);
        foreach (float bad in new[] { -0.1f, 1f, float.NaN })
            Assert.That(() => Cpu(1).SoftmaxCrossEntropy(tl, [0, 1], null, bad),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("label smoothing must be in [0, 1)"));
    }

    [Test]
    public void LargeLogitsAreStable()
    {
        float[] logits = [1000f, 999f, -1000f, 80f, 90f, 100f];
        int[] labels = [1, 0];
        using var tl = T(logits, 2, 3); using var dl = T(new float[6], 2, 3);
        float loss = Cpu(1).SoftmaxCrossEntropy(tl, labels, dl);
        Assert.That(loss, Is.EqualTo(ReferenceOps.SoftmaxCrossEntropy(D(logits), labels, 2, 3)).Within(1e-5));
        Assert.That(dl.ToArray().All(float.IsFinite));
    }

    [Test]
    public void OutOfRangeLabelNamesRowAndLabel()
    {
        using var tl = T(new float[6], 2, 3);
        Assert.That(() => Cpu(1).SoftmaxCrossEntropy(tl, [0, 3], null),
            Throws.ArgumentException.With.Message.Contains("label 3 in row 1"));
        Assert.That(() => Cpu(1).SoftmaxCrossEntropy(tl, [-1, 0], null),
            Throws.ArgumentException.With.Message.Contains("label -1 in row 0"));
        Assert.That(() => Cpu(1).SoftmaxCrossEntropy(tl, [0], null), Throws.ArgumentException.With.Message.Contains("1 labels for 2 rows"));
    }

    [Test]
    public void NonFiniteLogitsGiveANaNLossNotANumber()
    {
        using var tl = T([0f, float.NaN, 1f, 2f, 3f, 4f], 2, 3);
        Assert.That(float.IsNaN(Cpu(1).SoftmaxCrossEntropy(tl, [0, 0], null)));
        using var ti = T([0f, float.PositiveInfinity, 1f], 1, 3);
        Assert.That(float.IsFinite(Cpu(1).SoftmaxCrossEntropy(ti, [0], null)), Is.False);
    }

    [Test]
    public void ArgMaxBreaksTiesTowardTheLowestIndex()
    {
        using var t = T([1f, 3f, 3f, 2f, 5f, 5f, 5f, 5f, -1f, -2f, -1f, -3f], 3, 4);
        var idx = new int[3];
        Cpu(1).ArgMax(t, idx);
        Assert.That(idx, Is.EqualTo(new[] { 1, 0, 0 }));
    }

    [Test]
    public void TopKMatchesStableSortReference()
    {
        var rng = new Random(4);
        int n = 200, classes = 12;
        // Few distinct values force many ties.
        var x = Enumerable.Range(0, n * classes).Select(_ => (float)rng.Next(5)).ToArray();
        var labels = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        using var t = T(x, n, classes);
        foreach (int k in new[] { 1, 3, 5, 12 })
        {
            var correct = new bool[n];
            Cpu(1).TopKCorrect(t, labels, k, correct);
            for (int r = 0; r < n; r++)
                Assert.That(correct[r], Is.EqualTo(ReferenceOps.InTopK(x[(r * classes)..((r + 1) * classes)], labels[r], k)), $"row {r}, k {k}");
        }
        var top1 = new bool[n]; var arg = new int[n];
        Cpu(1).TopKCorrect(t, labels, 1, top1);
        Cpu(1).ArgMax(t, arg);
        Assert.That(top1, Is.EqualTo(arg.Select((a, r) => a == labels[r]).ToArray()), "top-1 agrees with argmax");
        Assert.That(() => Cpu(1).TopKCorrect(t, labels, 0, top1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
