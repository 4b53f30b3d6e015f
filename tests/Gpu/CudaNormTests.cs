using NUnit.Framework;
using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Gpu;

/// <summary>BatchNorm, pooling, QCFS, loss and metrics: CUDA against the CPU backend.</summary>
public class CudaLayerTests : GpuTestBase
{
    private const float Atol = 1e-4f, Rtol = 1e-4f;

    private static readonly int[][] NormShapes = [[8, 5], [4, 3, 7, 9], [32, 16, 8, 8], [2, 64, 1, 1]];

    [TestCaseSource(nameof(NormShapes))]
    public void BatchNormTrainingInferenceAndBackwardMatchCpu(int[] dims)
    {
        var shape = new Shape(dims);
        int c = dims[1];
        var rng = new Random(dims.Sum());
        var (x, gx) = BothRandom(rng, shape, -2f, 3f);
        var (gamma, ggamma) = BothRandom(rng, new Shape(c), 0.5f, 1.5f);
        var (beta, gbeta) = BothRandom(rng, new Shape(c));
        var (rm, grm) = BothRandom(rng, new Shape(c));
        var (rv, grv) = BothRandom(rng, new Shape(c), 0.5f, 2f);
        using var y = Cpu.Empty(shape); using var gy = Cuda.Empty(shape);
        using var sm = Cpu.Empty(new Shape(c)); using var gsm = Cuda.Empty(new Shape(c));
        using var si = Cpu.Empty(new Shape(c)); using var gsi = Cuda.Empty(new Shape(c));
        Cpu.BatchNormForwardTraining(x, gamma, beta, rm, rv, 0.1f, 1e-5f, y, sm, si);
        Cuda.BatchNormForwardTraining(gx, ggamma, gbeta, grm, grv, 0.1f, 1e-5f, gy, gsm, gsi);
        AssertClose(y, gy, Atol, Rtol, "training y");
        AssertClose(sm, gsm, Atol, Rtol, "saved mean");
        AssertClose(si, gsi, Atol, Rtol, "saved 1/std");
        AssertClose(rm, grm, Atol, Rtol, "running mean");
        AssertClose(rv, grv, Atol, Rtol, "running var (unbiased)");

        Cpu.BatchNormForwardInference(x, gamma, beta, rm, rv, 1e-5f, y);
        Cuda.BatchNormForwardInference(gx, ggamma, gbeta, grm, grv, 1e-5f, gy);
        AssertClose(y, gy, Atol, Rtol, "inference y");

        var (dy, gdy) = BothRandom(rng, shape);
        using var dx = Cpu.Empty(shape); using var gdx = Cuda.Empty(shape);
        using var dg = Cpu.Empty(new Shape(c)); using var gdg = Cuda.Empty(new Shape(c));
        using var db = Cpu.Empty(new Shape(c)); using var gdb = Cuda.Empty(new Shape(c));
        Cpu.BatchNormBackward(dy, x, gamma, sm, si, dx, dg, db);
        Cuda.BatchNormBackward(gdy, gx, ggamma, gsm, gsi, gdx, gdg, gdb);
        AssertClose(dx, gdx, 1e-3f, 1e-3f, "dx");
        AssertClose(dg, gdg, 1e-3f, 1e-4f, "dgamma");
        AssertClose(db, gdb, 1e-3f, 1e-4f, "dbeta");
    }

    [TestCase(2, 3, 8, 8, 2, 2, 0)]
    [TestCase(3, 4, 7, 9, 3, 1, 1)]
    [TestCase(1, 2, 9, 9, 3, 2, 1)]
    [TestCase(2, 5, 32, 32, 2, 2, 0)]
    public void AvgPoolMatchesCpu(int n, int c, int h, int w, int kernel, int stride, int pad)
    {
        var g = Pool2dGeometry.Create(new Shape(n, c, h, w), kernel, stride, pad);
        var rng = new Random(n * c * h * w + kernel);
        var (x, gx) = BothRandom(rng, g.InputShape);
        var (dy, gdy) = BothRandom(rng, g.OutputShape);
        using var y = Cpu.Empty(g.OutputShape); using var gy = Cuda.Empty(g.OutputShape);
        Cpu.AvgPool2dForward(x, y, g); Cuda.AvgPool2dForward(gx, gy, g);
        AssertClose(y, gy, 1e-6f, 1e-6f, "y");
        using var dx = Cpu.Empty(g.InputShape); using var gdx = Cuda.Empty(g.InputShape);
        Cuda.Fill(gdx, float.NaN);
        Cpu.AvgPool2dBackward(dy, dx, g); Cuda.AvgPool2dBackward(gdy, gdx, g);
        AssertClose(dx, gdx, 1e-6f, 1e-6f, "dx");
    }

    [TestCase(2, 3, 4, 4)]
    [TestCase(5, 64, 8, 8)]
    [TestCase(1, 7, 1, 1)]
    public void GlobalAvgPoolMatchesCpu(int n, int c, int h, int w)
    {
        var rng = new Random(n + c + h);
        var (x, gx) = BothRandom(rng, new Shape(n, c, h, w));
        var (dy, gdy) = BothRandom(rng, new Shape(n, c));
        using var y = Cpu.Empty(new Shape(n, c)); using var gy = Cuda.Empty(new Shape(n, c));
        Cpu.GlobalAvgPoolForward(x, y); Cuda.GlobalAvgPoolForward(gx, gy);
        AssertClose(y, gy, 1e-6f, 1e-5f, "y");
        using var dx = Cpu.Empty(x.Shape); using var gdx = Cuda.Empty(x.Shape);
        Cpu.GlobalAvgPoolBackward(dy, dx); Cuda.GlobalAvgPoolBackward(gdy, gdx);
        AssertClose(dx, gdx, 1e-7f, 1e-6f, "dx");
    }

    [TestCase(4, 8.0f, 1000)]
    [TestCase(8, 2.5f, 100_003)]
    [TestCase(16, 0.7f, 4096)]
    [TestCase(1, 1.0f, 333)]
    public void QcfsForwardAndBackwardMatchCpu(int levels, float lambda, int n)
    {
        var rng = new Random(levels * n);
        var shape = new Shape(n);
        var (x, gx) = BothRandom(rng, shape, -0.5f * lambda, 1.5f * lambda);
        var (lam, glam) = Both([lambda], new Shape(1));
        var (dy, gdy) = BothRandom(rng, shape);
        using var y = Cpu.Empty(shape); using var gy = Cuda.Empty(shape);
        Cpu.QcfsForward(x, lam, levels, y); Cuda.QcfsForward(gx, glam, levels, gy);
        AssertClose(y, gy, 1e-6f, 1e-6f, "y");
        using var dx = Cpu.Empty(shape); using var gdx = Cuda.Empty(shape);
        using var dl = Cpu.Empty(new Shape(1)); using var gdl = Cuda.Empty(new Shape(1));
        Cpu.QcfsBackward(dy, x, lam, levels, dx, dl); Cuda.QcfsBackward(gdy, gx, glam, levels, gdx, gdl);
        AssertExact(dx, gdx, "dx (straight-through mask)");
        AssertClose(dl, gdl, 1e-3f, 1e-4f, "dλ (reduced)");
    }

    [TestCase(1, 2)]
    [TestCase(37, 10)]
    [TestCase(256, 100)]
    public void SoftmaxCrossEntropyMatchesCpu(int rows, int classes)
    {
        var rng = new Random(rows * classes);
        var (logits, glogits) = BothRandom(rng, new Shape(rows, classes), -5f, 5f);
        var labels = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        using var d = Cpu.Empty(logits.Shape); using var gd = Cuda.Empty(logits.Shape);
        float loss = Cpu.SoftmaxCrossEntropy(logits, labels, d);
        float gloss = Cuda.SoftmaxCrossEntropy(glogits, labels, gd);
        Assert.That(gloss, Is.EqualTo(loss).Within(1e-5f * Math.Max(1f, loss)), "loss");
        AssertClose(d, gd, 1e-6f, 1e-4f, "dlogits");
        Assert.That(Cuda.SoftmaxCrossEntropy(glogits, labels, null), Is.EqualTo(gloss), "loss without gradient");
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
