using static SpikeEngine.Tests.Nn.GradCheck;

namespace SpikeEngine.Tests.Nn;

/// <summary>
/// The fused training-mode BatchNorm + QCFS (F.BatchNormQcfs on the CPU backend) against the two operations it replaces
/// (F.BatchNorm then F.Qcfs, each checked by finite differences in FunctionalTests): the same output, running and
/// saved statistics and gradients, bit for bit; dλ to float rounding (another summation order).
/// </summary>
public class FusedNormQcfsTests
{
    // [N, C, H, W]: ResNet-20 stage 3, an odd map (vector tails), a 2×2 map (scalar only), and the [N, C] of a classifier.
    private static readonly int[][] Shapes = [[4, 16, 8, 8], [3, 5, 7, 5], [2, 3, 2, 2], [6, 7]];

    private sealed record Run(float[] Y, float[] RunningMean, float[] RunningVar, float[] Dx, float[] Dgamma, float[] Dbeta, float Dlambda);

    private static Run Train(Shape shape, bool fused, int levels, float lambda)
    {
        int c = shape[1];
        var x = Random(shape, 1, 3f); x.RequiresGrad = true;
        var gamma = Random(new Shape(c), 2, 1.5f); gamma.RequiresGrad = true;
        var beta = Random(new Shape(c), 3, 2f); beta.RequiresGrad = true;
        var up = Tensor.Full(new Shape(1), lambda); up.RequiresGrad = true;
        var runningMean = Random(new Shape(c), 5, 0.5f);
        var runningVar = Tensor.Full(new Shape(c), 1.5f);
        var probe = Random(new Shape(1, shape.Numel), 4);
        var y = fused
            ? F.BatchNormQcfs(x, gamma, beta, runningMean, runningVar, 0.1f, 1e-5f, up, levels)
            : F.Qcfs(F.BatchNorm(x, gamma, beta, runningMean, runningVar, training: true), up, levels);
        Grad.Backward(WeightedSum(y, probe));
        return new Run(y.Span.ToArray(), runningMean.Span.ToArray(), runningVar.Span.ToArray(), x.Grad!.Span.ToArray(),
            gamma.Grad!.Span.ToArray(), beta.Grad!.Span.ToArray(), up.Grad!.Item());
    }

    [Test]
    public void FusedEqualsBatchNormThenQcfs([Values(0, 1, 2, 3)] int shapeIndex, [Values(3, 4, 16)] int levels)
    {
        var shape = new Shape(Shapes[shapeIndex]);
        Assume.That(Backends.Cpu, Is.InstanceOf<IFusedNormQcfs>());
        var separate = Train(shape, fused: false, levels, 2.5f);
        var fused = Train(shape, fused: true, levels, 2.5f);
        Assert.That(fused.Y, Is.EqualTo(separate.Y), "y");
        Assert.That(fused.Y.Distinct().Count(), Is.GreaterThanOrEqualTo(3), "the outputs cover several QCFS steps");
        Assert.That(fused.RunningMean, Is.EqualTo(separate.RunningMean), "running_mean");
        Assert.That(fused.RunningVar, Is.EqualTo(separate.RunningVar), "running_var");
        Assert.That(fused.Dx, Is.EqualTo(separate.Dx), "dx");
        Assert.That(fused.Dgamma, Is.EqualTo(separate.Dgamma), "dγ");
        Assert.That(fused.Dbeta, Is.EqualTo(separate.Dbeta), "dβ");
        Assert.That(fused.Dlambda, Is.EqualTo(separate.Dlambda).Within(1e-5 * (1 + Math.Abs(separate.Dlambda))), "dλ");
        Assert.That(fused.Dlambda, Is.Not.EqualTo(0f), "λ gets a gradient");
    }

    [Test]
    public void ModelsFuseInTrainingModeOnly()
    {
        // A training step through the fused layers gives the same loss and λ gradients as one through the separate ones.
        var model = ModelZoo.Create("resnet20", 10, 4, new ModelOptions { Seed = 1, InitialThreshold = 2f });
        var x = Random(new Shape(4, 3, 32, 32), 7, 2f);
        var ops = new List<string>();
        float FusedLoss(bool fused)
        {
            bool saved = F.FuseNormQcfs;
            F.FuseNormQcfs = fused;
            try
            {
                foreach (var p in model.Parameters()) { p.Grad?.Dispose(); p.Grad = null; }
                using var probe = Random(new Shape(1, 40), 9);
                var loss = WeightedSum(model.Forward(x), probe);
                ops.Clear();
                var seen = new HashSet<GradNode>();
                var stack = new Stack<GradNode>([loss.GradFn!]);
                while (stack.Count > 0)
                {
                    var node = stack.Pop();
                    if (!seen.Add(node)) continue;
                    ops.Add(node.Op);
                    foreach (var input in node.Inputs) if (input.GradFn is { } g) stack.Push(g);
                }
                Grad.Backward(loss);
                return loss.Item();
            }
            finally { F.FuseNormQcfs = saved; }
        }
        float separate = FusedLoss(false);
        var separateGrad = model.StateDict()["conv1.2.up"].Grad!.Item();
        Assert.That(ops, Has.No.Member("BatchNormQcfs"));
        float fused = FusedLoss(true);
        var fusedGrad = model.StateDict()["conv1.2.up"].Grad!.Item();
        // conv1 and the first half of each of the 9 blocks: BN → QCFS; the second BN meets the shortcut's sum first.
        Assert.That(ops.Count(o => o == "BatchNormQcfs"), Is.EqualTo(10));
        Assert.That(fused, Is.EqualTo(separate).Within(1e-4 * (1 + Math.Abs(separate))));
        Assert.That(fusedGrad, Is.EqualTo(separateGrad).Within(1e-4 * (1 + Math.Abs(separateGrad))));
        model.Eval();
        using var _ = Grad.NoGrad();
        using var eval = model.Forward(x);
        Assert.That(eval.Span.ToArray().All(float.IsFinite));
    }
}
