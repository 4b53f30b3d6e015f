using SpikeEngine.Tests.Kernels;
using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Onnx;

/// <summary>The ops imported networks add (Clamp for ReLU/Clip, CopyBlocks for Concat): plain loops and finite differences.</summary>
public sealed class ImportedOpsTests
{
    [TestCase(0f, float.PositiveInfinity, 1)]
    [TestCase(0f, 0.5f, 2)]
    public void ClampForwardAndBackwardMatchPlainLoops(float lo, float hi, int threads)
    {
        var be = Cpu(threads);
        var rng = new Random(3);
        int n = 70_001; // more than one parallel chunk
        var x = Uniform(rng, n);
        x[0] = lo; x[1] = 0.5f; // values on the bounds: gradient 0 there
        var dy = Uniform(rng, n);
        using var tx = T(x, n);
        using var ty = be.Empty(new Shape(n));
        using var tdy = T(dy, n);
        using var tdx = be.Empty(new Shape(n));
        be.Clamp(tx, lo, hi, ty);
        be.ClampBackward(tdy, tx, lo, hi, tdx);
        for (int i = 0; i < n; i++)
        {
            float expected = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
            Assert.That(ty.Span[i], Is.EqualTo(expected), $"clamp at {i}");
            Assert.That(tdx.Span[i], Is.EqualTo(x[i] > lo && x[i] < hi ? dy[i] : 0f), $"gradient at {i}");
        }
        Assert.That(() => be.Clamp(tx, 1f, 0f, ty), Throws.ArgumentException.With.Message.Contains("lo <= hi"));
    }

    [Test]
    public void ClampGradientMatchesFiniteDifferences()
    {
        var rng = new Random(5);
        var x = Uniform(rng, 40);
        for (int i = 0; i < x.Length; i++) if (Math.Abs(x[i]) < 0.01f || Math.Abs(x[i] - 0.6f) < 0.01f) x[i] += 0.05f; // away from the kinks
        var r = Uniform(rng, 40);
        using var tx = T(x, 4, 10);
        tx.RequiresGrad = true;
        using var y = SpikeEngine.Autograd.F.Clamp(tx, 0f, 0.6f);
        using var loss = SpikeEngine.Autograd.F.Linear(SpikeEngine.Autograd.F.Reshape(y, new Shape(1, 40)), T(r, 1, 40), null);
        Grad.Backward(loss);
        var expected = FiniteDifference(xs => Dot(r.Select(v => (double)v).ToArray(), xs.Select(v => Math.Clamp(v, 0, 0.6)).ToArray()), D(x), 1e-3);
        AssertClose(tx.Grad!.Span, expected, 1e-3, 1e-4, "dclamp/dx");
    }

    [Test]
    public void ConcatChannelsMatchesPlainLoopAndSplitsGradient()
    {
        var rng = new Random(7);
        int n = 3, h = 2, w = 5;
        int[] channels = [2, 1, 3];
        var data = channels.Select(c => Uniform(rng, n * c * h * w)).ToArray();
        var inputs = data.Select((d, i) => { var t = T(d, n, channels[i], h, w); t.RequiresGrad = true; return t; }).ToList();
        using var y = SpikeEngine.Autograd.F.ConcatChannels(inputs);
        Assert.That(y.Shape, Is.EqualTo(new Shape(n, 6, h, w)));
        int total = channels.Sum();
        for (int b = 0; b < n; b++)
        {
            int c0 = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                for (int c = 0; c < channels[i]; c++)
                    for (int p = 0; p < h * w; p++)
                        Assert.That(y.Span[((b * total) + c0 + c) * h * w + p], Is.EqualTo(data[i][((b * channels[i]) + c) * h * w + p]));
                c0 += channels[i];
            }
        }
        var r = Uniform(rng, y.Numel);
        using var loss = SpikeEngine.Autograd.F.Linear(SpikeEngine.Autograd.F.Reshape(y, new Shape(1, y.Numel)), T(r, 1, y.Numel), null);
        Grad.Backward(loss);
        // d(r·y)/dx_i = the part of r that lies over x_i's channels
        for (int i = 0, c0 = 0; i < inputs.Count; c0 += channels[i], i++)
            for (int b = 0; b < n; b++)
                for (int c = 0; c < channels[i]; c++)
                    for (int p = 0; p < h * w; p++)
                        Assert.That(inputs[i].Grad!.Span[((b * channels[i]) + c) * h * w + p], Is.EqualTo(r[((b * total) + c0 + c) * h * w + p]));
        Assert.That(() => SpikeEngine.Autograd.F.ConcatChannels([T(new float[8], 2, 1, 2, 2), T(new float[6], 2, 1, 3, 1)]),
            Throws.ArgumentException.With.Message.Contains("every other axis must agree"));
    }

    [Test]
    public void CopyBlocksChecksBounds()
    {
        using var a = T(new float[10], 10);
        using var b = T(new float[10], 10);
        Assert.That(() => Backends.Cpu.CopyBlocks(a, 0, 4, b, 0, 4, 3, 4), Throws.ArgumentException.With.Message.Contains("needs 12 elements"));
    }
}
