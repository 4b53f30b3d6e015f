using SpikeEngine.Training;

namespace SpikeEngine.Tests.Training;

public class OptimiserTests
{
    [Test]
    public void SgdFollowsPyTorchsMomentumAndWeightDecayRule()
    {
        float[] p0 = [1f, -2f, 0.5f];
        float[][] grads = [[0.1f, 0.2f, -0.3f], [0.4f, -0.1f, 0.0f], [-0.2f, 0.3f, 0.1f]];
        var p = Tensor.FromArray(p0, new Shape(3));
        var sgd = new Sgd([("w", p)], lr: 0.1f, momentum: 0.9f, weightDecay: 0.01f);
        // Plain loop of torch.optim.SGD: d = g + wd·p; buf = d (first) or 0.9·buf + d; p −= lr·buf.
        var expected = (float[])p0.Clone();
        var buf = new float[3];
        for (int step = 0; step < grads.Length; step++)
        {
            p.Grad = Tensor.FromArray(grads[step], new Shape(3));
            sgd.Step();
            sgd.ZeroGrad();
            for (int i = 0; i < 3; i++)
            {
                float d = grads[step][i] + 0.01f * expected[i];
                buf[i] = step == 0 ? d : 0.9f * buf[i] + d;
                expected[i] -= 0.1f * buf[i];
            }
            Assert.That(p.Span.ToArray(), Is.EqualTo(expected).Within(1e-6f), $"after step {step + 1}");
            Assert.That(p.Grad, Is.Null);
        }
        Assert.That(sgd.MomentumBuffers["w"].Span.ToArray(), Is.EqualTo(buf).Within(1e-6f));
    }

    [Test]
    public void SgdSkipsParametersWithoutGradient()
    {
        var a = Tensor.FromArray([1f], new Shape(1));
        var b = Tensor.FromArray([1f], new Shape(1));
        var sgd = new Sgd([("a", a), ("b", b)], 0.5f, 0.9f, 0.1f);
        a.Grad = Tensor.FromArray([1f], new Shape(1));
        sgd.Step();
        Assert.That(a.Item(), Is.EqualTo(1f - 0.5f * 1.1f).Within(1e-6f));
        Assert.That(b.Item(), Is.EqualTo(1f));
        Assert.That(sgd.MomentumBuffers.Keys, Is.EquivalentTo(new[] { "a" }));
    }

    [Test]
    public void SgdRejectsBadSettings()
    {
        var a = Tensor.Zeros(new Shape(1));
        Assert.That(() => new Sgd([("a", a)], 0f), Throws.ArgumentException.With.Message.Contains("learning rate"));
        Assert.That(() => new Sgd([("a", a)], 0.1f, momentum: 1f), Throws.ArgumentException.With.Message.Contains("momentum"));
        Assert.That(() => new Sgd([], 0.1f), Throws.ArgumentException.With.Message.Contains("no parameters"));
    }

    [Test]
    public void CosineScheduleMatchesCosineAnnealingLR()
    {
        // torch.optim.lr_scheduler.CosineAnnealingLR(SGD(lr=0.1), T_max=4), stepped per epoch.
        var s = new CosineSchedule(0.1f, 4);
        double[] pytorch = [0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0];
        for (int e = 0; e < pytorch.Length; e++)
            Assert.That(s.LearningRate(e), Is.EqualTo(pytorch[e]).Within(1e-7), $"epoch {e}");
    }
    [Test]
    public void WarmUpRisesPerBatchThenTheCosineRunsOverTheRemainingEpochs()
    {
        // 2 warm-up epochs of 4 batches, then CosineAnnealingLR(T_max = 4) over epochs 2..5 (values worked by hand).
        var s = new CosineSchedule(0.1f, 6, warmupEpochs: 2);
        double[] warm = [0.0125, 0.025, 0.0375, 0.05, 0.0625, 0.075, 0.0875, 0.1];
        for (int k = 0; k < warm.Length; k++)
            Assert.That(s.LearningRate(k / 4, k % 4, 4), Is.EqualTo(warm[k]).Within(1e-7), $"warm-up batch {k}");
        double[] cosine = [0.1, 0.08535533905932738, 0.05, 0.014644660940672627];
        for (int e = 2; e < 6; e++)
            for (int b = 0; b < 4; b++)
                Assert.That(s.LearningRate(e, b, 4), Is.EqualTo(cosine[e - 2]).Within(1e-7), $"epoch {e}, batch {b}: constant within a cosine epoch");
        Assert.That(() => new CosineSchedule(0.1f, 3, warmupEpochs: 3), Throws.ArgumentException.With.Message.Contains("warm-up"));
        Assert.That(() => new CosineSchedule(0.1f, 3, warmupEpochs: -1), Throws.ArgumentException.With.Message.Contains("warm-up"));
    }
}
