namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// A small QCFS CNN trained for two SGD steps, and its converted SNN run over time, on both backends.
/// Built from IBackend ops directly (conv → BN → QCFS → avg-pool → conv → BN → QCFS → global pool → linear)
/// so it exercises the kernels the way the trainer and the simulator chain them.
/// </summary>
public class CudaEndToEndTests : GpuTestBase
{
    private const int Batch = 8, InC = 3, Size = 8, C1 = 6, C2 = 8, Classes = 10, Levels = 4;

    /// <summary>Parameters of the tiny network, in one order (the host copy is shared by both runs).</summary>
    private static readonly (string Name, int[] Dims)[] ParameterLayout =
    [
        ("conv1.weight", [C1, InC, 3, 3]), ("conv1.bias", [C1]), ("bn1.weight", [C1]), ("bn1.bias", [C1]), ("relu1.up", [1]),
        ("conv2.weight", [C2, C1, 3, 3]), ("bn2.weight", [C2]), ("bn2.bias", [C2]), ("relu2.up", [1]),
        ("fc.weight", [Classes, C2]), ("fc.bias", [Classes]),
    ];

    internal sealed class Net : IDisposable
    {
        public readonly IBackend B;
        public readonly Dictionary<string, Tensor> P = new(), Grad = new(), Momentum = new();
        public readonly Tensor Rm1, Rv1, Rm2, Rv2;

        public Net(IBackend b, Dictionary<string, float[]> init)
        {
            B = b;
            foreach (var (name, dims) in ParameterLayout)
            {
                var shape = new Shape(dims);
                P[name] = Upload(init[name], shape);
                Grad[name] = b.Zeros(shape);
                Momentum[name] = b.Zeros(shape);
            }
            Rm1 = b.Zeros(new Shape(C1)); Rv1 = Upload(Enumerable.Repeat(1f, C1).ToArray(), new Shape(C1));
            Rm2 = b.Zeros(new Shape(C2)); Rv2 = Upload(Enumerable.Repeat(1f, C2).ToArray(), new Shape(C2));
        }

        public Tensor Upload(float[] data, Shape shape)
        {
            var t = B.Empty(shape);
            B.CopyFromHost(data, t);
            return t;
        }

        public void Dispose()
        {
            foreach (var t in P.Values.Concat(Grad.Values).Concat(Momentum.Values)) t.Dispose();
            Rm1.Dispose(); Rv1.Dispose(); Rm2.Dispose(); Rv2.Dispose();
        }

        /// <summary>One training step (forward, backward, SGD); returns the loss.</summary>
        public float TrainStep(float[] images, int[] labels, bool firstStep)
        {
            var g1 = new Conv2dGeometry(Batch, InC, Size, Size, C1, 3, 3, 1, 1, 1, 1);
            var pool = new Pool2dGeometry(Batch, C1, Size, Size, 2, 2, 2, 2, 0, 0);
            var g2 = new Conv2dGeometry(Batch, C1, Size / 2, Size / 2, C2, 3, 3, 1, 1, 1, 1);
            using var x = Upload(images, g1.InputShape);
            using var a1 = B.Empty(g1.OutputShape); using var b1 = B.Empty(g1.OutputShape); using var q1 = B.Empty(g1.OutputShape);
            using var sm1 = B.Empty(new Shape(C1)); using var si1 = B.Empty(new Shape(C1));
            using var p1 = B.Empty(pool.OutputShape);
            using var a2 = B.Empty(g2.OutputShape); using var b2 = B.Empty(g2.OutputShape); using var q2 = B.Empty(g2.OutputShape);
            using var sm2 = B.Empty(new Shape(C2)); using var si2 = B.Empty(new Shape(C2));
            using var gp = B.Empty(new Shape(Batch, C2));
            using var logits = B.Empty(new Shape(Batch, Classes));
            B.Conv2dForward(x, P["conv1.weight"], P["conv1.bias"], a1, g1);
            B.BatchNormForwardTraining(a1, P["bn1.weight"], P["bn1.bias"], Rm1, Rv1, 0.1f, 1e-5f, b1, sm1, si1);
            B.QcfsForward(b1, P["relu1.up"], Levels, q1);
            B.AvgPool2dForward(q1, p1, pool);
            B.Conv2dForward(p1, P["conv2.weight"], null, a2, g2);
            B.BatchNormForwardTraining(a2, P["bn2.weight"], P["bn2.bias"], Rm2, Rv2, 0.1f, 1e-5f, b2, sm2, si2);
            B.QcfsForward(b2, P["relu2.up"], Levels, q2);
            B.GlobalAvgPoolForward(q2, gp);
            B.LinearForward(gp, P["fc.weight"], P["fc.bias"], logits);
            using var dlogits = B.Empty(logits.Shape);
            float loss = B.SoftmaxCrossEntropy(logits, labels, dlogits);

            using var dgp = B.Empty(gp.Shape);
            B.LinearBackward(gp, P["fc.weight"], dlogits, dgp, Grad["fc.weight"], Grad["fc.bias"]);
            using var dq2 = B.Empty(q2.Shape); using var db2 = B.Empty(b2.Shape); using var da2 = B.Empty(a2.Shape);
            B.GlobalAvgPoolBackward(dgp, dq2);
            B.QcfsBackward(dq2, b2, P["relu2.up"], Levels, db2, Grad["relu2.up"]);
            B.BatchNormBackward(db2, a2, P["bn2.weight"], sm2, si2, da2, Grad["bn2.weight"], Grad["bn2.bias"]);
            B.Conv2dBackwardWeight(p1, da2, Grad["conv2.weight"], null, g2);
            using var dp1 = B.Empty(p1.Shape); using var dq1 = B.Empty(q1.Shape); using var db1 = B.Empty(b1.Shape); using var da1 = B.Empty(a1.Shape);
            B.Conv2dBackwardData(da2, P["conv2.weight"], dp1, g2);
            B.AvgPool2dBackward(dp1, dq1, pool);
            B.QcfsBackward(dq1, b1, P["relu1.up"], Levels, db1, Grad["relu1.up"]);
            B.BatchNormBackward(db1, a1, P["bn1.weight"], sm1, si1, da1, Grad["bn1.weight"], Grad["bn1.bias"]);
            B.Conv2dBackwardWeight(x, da1, Grad["conv1.weight"], Grad["conv1.bias"], g1);
            foreach (var (name, _) in ParameterLayout)
                B.SgdUpdate(P[name], Grad[name], Momentum[name], 0.05f, 0.9f, 5e-4f, firstStep);
            return loss;
        }
    }

    internal static Dictionary<string, float[]> InitialParameters(Random rng, bool dyadic)
    {
        var init = new Dictionary<string, float[]>();
        foreach (var (name, dims) in ParameterLayout)
        {
            int n = dims.Aggregate(1, (a, b) => a * b);
            init[name] = name switch
            {
                _ when name.EndsWith(".up") => [dyadic ? 1.5f : 2.0f],
                _ when name.StartsWith("bn") && name.EndsWith(".weight") => Random(rng, n, 0.8f, 1.2f),
                _ when dyadic => Dyadic(rng, n, -8, 8, 16),
                _ => Random(rng, n, -0.5f, 0.5f),
            };
        }
        return init;
    }

    [Test]
    public void TwoTrainingStepsOfASmallCnnMatchCpu()
    {
        var rng = new Random(2024);
        var init = InitialParameters(rng, dyadic: false);
        var images = Random(rng, Batch * InC * Size * Size, -2f, 2f);
        var labels = Enumerable.Range(0, Batch).Select(_ => rng.Next(Classes)).ToArray();
        using var cpu = new Net(Cpu, init);
        using var gpu = new Net(Cuda, init);
        for (int step = 0; step < 2; step++)
        {
            float lc = cpu.TrainStep(images, labels, step == 0), lg = gpu.TrainStep(images, labels, step == 0);
            Assert.That(lg, Is.EqualTo(lc).Within(1e-4f * Math.Max(1f, lc)), $"loss at step {step + 1}");
        }
        foreach (var (name, _) in ParameterLayout)
        {
            AssertClose(cpu.P[name], gpu.P[name], 2e-4f, 2e-3f, $"{name} after two steps");
            AssertClose(cpu.Momentum[name], gpu.Momentum[name], 2e-4f, 2e-3f, $"{name} momentum");
        }
        AssertClose(cpu.Rm2, gpu.Rm2, 1e-4f, 1e-3f, "bn2 running mean");
        AssertClose(cpu.Rv2, gpu.Rv2, 1e-4f, 1e-3f, "bn2 running var");
    }

    /// <summary>
    /// The converted network run over T steps with COS, layer by layer over whole spike trains.
    /// Weights, biases and images are multiples of 1/16 and thresholds 1.5, so every conv, pool and
    /// linear result is exact in float32 whatever the summation order: the two backends must give
    /// identical spike trains and identical predictions at every step. Returns per-step predictions
    /// [T][Batch] and the spike trains of both IF layers.
    /// </summary>
    internal static (int[][] Predictions, float[] Spikes1, float[] Spikes2) RunSnn(IBackend b, Dictionary<string, float[]> p,
        float[] images, int steps, int presim)
    {
        int n = steps * Batch;
        var g1 = new Conv2dGeometry(n, InC, Size, Size, C1, 3, 3, 1, 1, 1, 1);
        var pool = new Pool2dGeometry(n, C1, Size, Size, 2, 2, 2, 2, 0, 0);
        var g2 = new Conv2dGeometry(n, C1, Size / 2, Size / 2, C2, 3, 3, 1, 1, 1, 1);
        Tensor Up(float[] data, Shape shape) { var t = b.Empty(shape); b.CopyFromHost(data, t); return t; }
        var repeated = new float[n * InC * Size * Size];
        for (int t = 0; t < steps; t++) images.CopyTo(repeated, t * images.Length); // direct input coding
        using var x = Up(repeated, g1.InputShape);
        using var w1 = Up(p["conv1.weight"], g1.WeightShape); using var bias1 = Up(p["conv1.bias"], new Shape(C1));
        using var w2 = Up(p["conv2.weight"], g2.WeightShape);
        using var fw = Up(p["fc.weight"], new Shape(Classes, C2)); using var fb = Up(p["fc.bias"], new Shape(Classes));
        float theta1 = p["relu1.up"][0], theta2 = p["relu2.up"][0];
        using var z1 = b.Empty(g1.OutputShape); using var s1 = b.Empty(g1.OutputShape);
        using var p1 = b.Empty(pool.OutputShape);
        using var z2 = b.Empty(g2.OutputShape); using var s2 = b.Empty(g2.OutputShape);
        using var gp = b.Empty(new Shape(n, C2));
        using var o = b.Empty(new Shape(n, Classes));
        b.Conv2dForward(x, w1, bias1, z1, g1);
        b.IfNeuronForward(z1, steps, theta1, presim, 1, s1, null);
        b.AvgPool2dForward(s1, p1, pool);
        b.Conv2dForward(p1, w2, null, z2, g2);
        b.IfNeuronForward(z2, steps, theta2, presim, 1, s2, null);
        b.GlobalAvgPoolForward(s2, gp);
        b.LinearForward(gp, fw, fb, o);
        // prediction at t = argmax of the outputs summed over steps 1..t
        var predictions = new int[steps][];
        var host = o.ToArray();
        var acc = new float[Batch * Classes];
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < acc.Length; i++) acc[i] += host[t * acc.Length + i];
            using var cum = Up(acc, new Shape(Batch, Classes));
            predictions[t] = new int[Batch];
            b.ArgMax(cum, predictions[t]);
        }
        return (predictions, s1.ToArray(), s2.ToArray());
    }

    [TestCase(4, 0)]
    [TestCase(4, 4)]
    [TestCase(8, 4)]
    public void SnnRunWithCosEqualsCpuStepByStep(int steps, int presim)
    {
        var rng = new Random(99 + steps + presim);
        var p = InitialParameters(rng, dyadic: true);
        var images = Dyadic(rng, Batch * InC * Size * Size, -32, 32, 16);
        var labels = Enumerable.Range(0, Batch).Select(_ => rng.Next(Classes)).ToArray();
        var (predCpu, s1Cpu, s2Cpu) = RunSnn(Cpu, p, images, steps, presim);
        var (predGpu, s1Gpu, s2Gpu) = RunSnn(Cuda, p, images, steps, presim);
        Assert.That(s1Gpu, Is.EqualTo(s1Cpu), "IF layer 1 spike train");
        Assert.That(s2Gpu, Is.EqualTo(s2Cpu), "IF layer 2 spike train");
        Assert.That(s1Gpu.Count(v => v != 0f), Is.GreaterThan(0), "layer 1 spikes at all");
        for (int t = 0; t < steps; t++)
        {
            Assert.That(predGpu[t], Is.EqualTo(predCpu[t]), $"predictions at t = {t + 1}");
            int correctCpu = predCpu[t].Zip(labels).Count(z => z.First == z.Second);
            int correctGpu = predGpu[t].Zip(labels).Count(z => z.First == z.Second);
            Assert.That(correctGpu, Is.EqualTo(correctCpu), $"accuracy at t = {t + 1}");
        }
    }
}
