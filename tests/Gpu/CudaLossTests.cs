namespace SpikeEngine.Tests.Gpu;

/// <summary>Softmax cross-entropy, argmax and top-k: CUDA against the CPU backend.</summary>
public class CudaLossTests : GpuTestBase
{
    [TestCase(1, 2, 0f)]
    [TestCase(37, 10, 0f)]
    [TestCase(256, 100, 0f)]
    [TestCase(37, 10, 0.1f)]
    [TestCase(256, 100, 0.3f)]
    public void SoftmaxCrossEntropyMatchesCpu(int rows, int classes, float smoothing)
    {
        var rng = new Random(rows * classes);
        var (logits, glogits) = BothRandom(rng, new Shape(rows, classes), -5f, 5f);
        var labels = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        using var d = Cpu.Empty(logits.Shape); using var gd = Cuda.Empty(logits.Shape);
        float loss = Cpu.SoftmaxCrossEntropy(logits, labels, d, smoothing);
        float gloss = Cuda.SoftmaxCrossEntropy(glogits, labels, gd, smoothing);
        Assert.That(gloss, Is.EqualTo(loss).Within(1e-5f * Math.Max(1f, loss)), "loss");
        AssertClose(d, gd, 1e-6f, 1e-4f, "dlogits");
        Assert.That(Cuda.SoftmaxCrossEntropy(glogits, labels, null, smoothing), Is.EqualTo(gloss), "loss without gradient");
        labels[0] = classes;
        Assert.That(() => Cuda.SoftmaxCrossEntropy(glogits, labels, null), Throws.ArgumentException.With.Message.Contains("label"));
    }

    [TestCase(1, 5, 1)]
    [TestCase(64, 10, 1)]
    [TestCase(64, 10, 5)]
    [TestCase(300, 100, 5)]
    public void ArgMaxAndTopKMatchCpuWithTies(int rows, int classes, int k)
    {
        var rng = new Random(rows + classes + k);
        // values on a coarse grid, so rows have ties that must go to the lower index
        var data = Dyadic(rng, rows * classes, -4, 4, 2);
        var (x, gx) = Both(data, new Shape(rows, classes));
        var labels = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        int[] idx = new int[rows], gidx = new int[rows];
        Cpu.ArgMax(x, idx); Cuda.ArgMax(gx, gidx);
        Assert.That(gidx, Is.EqualTo(idx), "argmax");
        bool[] ok = new bool[rows], gok = new bool[rows];
        Cpu.TopKCorrect(x, labels, k, ok); Cuda.TopKCorrect(gx, labels, k, gok);
        Assert.That(gok, Is.EqualTo(ok), "top-k");
        // an independent plain check of the tie rule on row 0
        int best = 0;
        for (int j = 1; j < classes; j++) if (data[j] > data[best]) best = j;
        Assert.That(gidx[0], Is.EqualTo(best), "ties go to the lowest index");
    }
}
