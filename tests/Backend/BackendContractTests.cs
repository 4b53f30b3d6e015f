using System.Reflection;

namespace SpikeEngine.Tests.Backend;

/// <summary>
/// One table of bad arguments for every IBackend op (the contract on IBackend, checked by BackendContract).
/// The CPU backend runs it here; Gpu/CudaContractTests runs the same table on CUDA and expects the
/// exception type and message the CPU gives.
/// </summary>
public static class BadBackendCalls
{
    /// <summary>One bad call: run it on a backend; it must throw <see cref="Expected"/> whose message starts with the op name and contains <see cref="Fragment"/>.</summary>
    public sealed record Case(string Name, string Op, Action<IBackend> Call, Type Expected, string Fragment)
    {
        public override string ToString() => Name;
    }

    private static Tensor Z(IBackend b, params int[] dims) => b.Zeros(new Shape(dims));

    private static Case Arg(string name, string op, string fragment, Action<IBackend> call) => new(name, op, call, typeof(ArgumentException), fragment);
    private static Case Range(string name, string op, string fragment, Action<IBackend> call) => new(name, op, call, typeof(ArgumentOutOfRangeException), fragment);

    private static readonly Conv2dGeometry Conv = Conv2dGeometry.Create(new Shape(2, 3, 5, 5), new Shape(4, 3, 3, 3), 1, 1, 1, 1);
    private static readonly Pool2dGeometry Pool = Pool2dGeometry.Create(new Shape(2, 3, 4, 4), 2, 2, 0);

    public static IEnumerable<Case> All()
    {
        // memory and elementwise
        yield return Arg("copy: sizes differ", "Copy", "has 5 elements, expected 6", b => b.Copy(Z(b, 2, 3), Z(b, 5)));
        yield return Arg("copy from host: too many values", "CopyFromHost", "7 values do not fit", b => b.CopyFromHost(new float[7], Z(b, 6)));
        yield return Arg("copy to host: too many asked", "CopyToHost", "9 values asked", b => b.CopyToHost(Z(b, 6), new float[9]));
        yield return Arg("add: b smaller", "Add", "b [5] has 5 elements, expected 6", b => b.Add(Z(b, 6), Z(b, 5), Z(b, 6)));
        yield return Arg("mul: y larger", "Mul", "y [7]", b => b.Mul(Z(b, 6), Z(b, 6), Z(b, 7)));
        yield return Arg("axpy: sizes differ", "Axpy", "y [4]", b => b.Axpy(1f, Z(b, 6), Z(b, 4)));
        yield return Arg("scale: sizes differ", "Scale", "y [4]", b => b.Scale(Z(b, 6), 2f, Z(b, 4)));
        yield return Arg("clamp: sizes differ", "Clamp", "y [4]", b => b.Clamp(Z(b, 6), 0f, 1f, Z(b, 4)));
        yield return Arg("clamp: bounds reversed", "Clamp", "lo <= hi", b => b.Clamp(Z(b, 6), 1f, 0f, Z(b, 6)));
        yield return Arg("clamp backward: dy size", "ClampBackward", "dy [5]", b => b.ClampBackward(Z(b, 5), Z(b, 6), 0f, 1f, Z(b, 6)));
        yield return Arg("copy blocks: past the destination", "CopyBlocks", "needs 12 elements", b => b.CopyBlocks(Z(b, 12), 0, 4, Z(b, 10), 0, 4, 3, 4));
        // dense algebra
        yield return Arg("gemm: negative size", "Gemm", "sizes must be >= 0", b => b.Gemm(false, false, -1, 2, 2, 1f, Z(b, 4), 0, 2, Z(b, 4), 0, 2, 0f, Z(b, 4), 0, 2));
        yield return Arg("gemm: lda too small", "Gemm", "lda 1 is smaller than the 3 columns of a", b => b.Gemm(false, false, 2, 2, 3, 1f, Z(b, 6), 0, 1, Z(b, 6), 0, 2, 0f, Z(b, 4), 0, 2));
        yield return Arg("gemm: b runs past its tensor", "Gemm", "needs 7 elements", b => b.Gemm(false, false, 2, 2, 3, 1f, Z(b, 6), 0, 3, Z(b, 6), 1, 2, 0f, Z(b, 4), 0, 2));
        yield return Arg("gemm: transposed a too small", "Gemm", "a (3×2", b => b.Gemm(true, false, 2, 2, 3, 1f, Z(b, 5), 0, 2, Z(b, 6), 0, 2, 0f, Z(b, 4), 0, 2));
        yield return Arg("linear: features differ from the weight", "LinearForward", "has 3 features but the weight [4, 5] expects 5", b => b.LinearForward(Z(b, 2, 3), Z(b, 4, 5), null, Z(b, 2, 4)));
        yield return Arg("linear: x not flattened", "LinearForward", "x must be [N, 5]", b => b.LinearForward(Z(b, 2, 5, 1, 1), Z(b, 4, 5), null, Z(b, 2, 4)));
        yield return Arg("linear: bias size", "LinearForward", "bias [3] has 3 elements, expected 4", b => b.LinearForward(Z(b, 2, 5), Z(b, 4, 5), Z(b, 3), Z(b, 2, 4)));
        yield return Arg("linear: y shape", "LinearForward", "y is [2, 5], expected [2, 4]", b => b.LinearForward(Z(b, 2, 5), Z(b, 4, 5), null, Z(b, 2, 5)));
        yield return Arg("linear backward: dx shape", "LinearBackward", "dx is [2, 4]", b => b.LinearBackward(Z(b, 2, 5), Z(b, 4, 5), Z(b, 2, 4), Z(b, 2, 4), null, null));
        yield return Arg("linear backward: dy shape", "LinearBackward", "dy is [3, 4]", b => b.LinearBackward(Z(b, 2, 5), Z(b, 4, 5), Z(b, 3, 4), null, Z(b, 4, 5), null));
        yield return Arg("conv: y shape", "Conv2dForward", "y is [2, 4, 4, 4], expected [2, 4, 5, 5]", b => b.Conv2dForward(Z(b, 2, 3, 5, 5), Z(b, 4, 3, 3, 3), null, Z(b, 2, 4, 4, 4), Conv));
        yield return Arg("conv: weight channels", "Conv2dForward", "weight is [4, 2, 3, 3]", b => b.Conv2dForward(Z(b, 2, 3, 5, 5), Z(b, 4, 2, 3, 3), null, Z(b, 2, 4, 5, 5), Conv));
        yield return Arg("conv: bias size", "Conv2dForward", "bias [3] has 3 elements, expected 4", b => b.Conv2dForward(Z(b, 2, 3, 5, 5), Z(b, 4, 3, 3, 3), Z(b, 3), Z(b, 2, 4, 5, 5), Conv));
        yield return Arg("conv: invalid geometry", "Conv2dForward", "invalid geometry", b => b.Conv2dForward(Z(b, 2, 3, 5, 5), Z(b, 4, 3, 3, 3), null, Z(b, 2, 4, 5, 5), Conv with { StrideH = 0 }));
        yield return Arg("conv backward data: dx shape", "Conv2dBackwardData", "dx is [2, 3, 4, 4]", b => b.Conv2dBackwardData(Z(b, 2, 4, 5, 5), Z(b, 4, 3, 3, 3), Z(b, 2, 3, 4, 4), Conv));
        yield return Arg("conv backward weight: dbias size", "Conv2dBackwardWeight", "dbias [5]", b => b.Conv2dBackwardWeight(Z(b, 2, 3, 5, 5), Z(b, 2, 4, 5, 5), Z(b, 4, 3, 3, 3), Z(b, 5), Conv));
        // normalisation
        yield return Arg("batchnorm: rank 3", "BatchNormForwardTraining", "x must be [N, C] or [N, C, H, W]", b => b.BatchNormForwardTraining(Z(b, 2, 3, 4), Z(b, 3), Z(b, 3), Z(b, 3), Z(b, 3), 0.1f, 1e-5f, Z(b, 2, 3, 4), Z(b, 3), Z(b, 3)));
        yield return Arg("batchnorm: gamma size", "BatchNormForwardTraining", "gamma [2] has 2 elements, expected 3", b => b.BatchNormForwardTraining(Z(b, 2, 3), Z(b, 2), Z(b, 3), Z(b, 3), Z(b, 3), 0.1f, 1e-5f, Z(b, 2, 3), Z(b, 3), Z(b, 3)));
        yield return Arg("batchnorm: one value per channel", "BatchNormForwardTraining", "more than one value per channel", b => b.BatchNormForwardTraining(Z(b, 1, 3), Z(b, 3), Z(b, 3), Z(b, 3), Z(b, 3), 0.1f, 1e-5f, Z(b, 1, 3), Z(b, 3), Z(b, 3)));
        yield return Range("batchnorm: eps 0", "BatchNormForwardTraining", "eps must be a finite value > 0", b => b.BatchNormForwardTraining(Z(b, 2, 3), Z(b, 3), Z(b, 3), Z(b, 3), Z(b, 3), 0.1f, 0f, Z(b, 2, 3), Z(b, 3), Z(b, 3)));
        yield return Range("batchnorm: momentum NaN", "BatchNormForwardTraining", "momentum must be in [0, 1]", b => b.BatchNormForwardTraining(Z(b, 2, 3), Z(b, 3), Z(b, 3), Z(b, 3), Z(b, 3), float.NaN, 1e-5f, Z(b, 2, 3), Z(b, 3), Z(b, 3)));
        yield return Arg("batchnorm inference: y shape", "BatchNormForwardInference", "y is [3, 3]", b => b.BatchNormForwardInference(Z(b, 2, 3), Z(b, 3), Z(b, 3), Z(b, 3), Z(b, 3), 1e-5f, Z(b, 3, 3)));
        yield return Arg("batchnorm backward: dgamma size", "BatchNormBackward", "dgamma [4]", b => b.BatchNormBackward(Z(b, 2, 3), Z(b, 2, 3), Z(b, 3), Z(b, 3), Z(b, 3), Z(b, 2, 3), Z(b, 4), Z(b, 3)));
        // pooling
        yield return Arg("avgpool: y shape", "AvgPool2dForward", "y is [2, 3, 3, 3], expected [2, 3, 2, 2]", b => b.AvgPool2dForward(Z(b, 2, 3, 4, 4), Z(b, 2, 3, 3, 3), Pool));
        yield return Arg("avgpool: invalid geometry", "AvgPool2dForward", "invalid geometry", b => b.AvgPool2dForward(Z(b, 2, 3, 4, 4), Z(b, 2, 3, 2, 2), Pool with { KernelW = 0 }));
        yield return Arg("avgpool backward: dx shape", "AvgPool2dBackward", "dx is [2, 3, 4, 5]", b => b.AvgPool2dBackward(Z(b, 2, 3, 2, 2), Z(b, 2, 3, 4, 5), Pool));
        yield return Arg("global avgpool: rank 2 input", "GlobalAvgPoolForward", "x must be [N, C, H, W]", b => b.GlobalAvgPoolForward(Z(b, 2, 3), Z(b, 2, 3)));
        yield return Arg("global avgpool: y shape", "GlobalAvgPoolForward", "y is [2, 3, 1, 1], expected [2, 3]", b => b.GlobalAvgPoolForward(Z(b, 2, 3, 4, 4), Z(b, 2, 3, 1, 1)));
        yield return Arg("global avgpool backward: dy shape", "GlobalAvgPoolBackward", "dy is [2, 4]", b => b.GlobalAvgPoolBackward(Z(b, 2, 4), Z(b, 2, 3, 4, 4)));
        // QCFS and dropout
        yield return Range("qcfs: L = 0", "QcfsForward", "the quantisation level L must be at least 1", b => b.QcfsForward(Z(b, 6), Z(b, 1), 0, Z(b, 6)));
        yield return Arg("qcfs: λ with two elements", "QcfsForward", "λ [2] has 2 elements, expected 1", b => b.QcfsForward(Z(b, 6), Z(b, 2), 4, Z(b, 6)));
        yield return Arg("qcfs backward: dλ size", "QcfsBackward", "dλ [2]", b => b.QcfsBackward(Z(b, 6), Z(b, 6), Z(b, 1), 4, Z(b, 6), Z(b, 2)));
        yield return Range("dropout: p above 1", "DropoutForward", "the dropout probability must be in [0, 1]", b => b.DropoutForward(Z(b, 6), 1.5f, 1, Z(b, 6), Z(b, 6)));
        yield return Arg("dropout: mask size", "DropoutForward", "mask [5]", b => b.DropoutForward(Z(b, 6), 0.5f, 1, Z(b, 6), Z(b, 5)));
        // loss, metrics, optimiser
        yield return Arg("cross-entropy: label out of range", "SoftmaxCrossEntropy", "label 3 in row 1 is outside [0, 3)", b => b.SoftmaxCrossEntropy(Z(b, 2, 3), [0, 3], null));
        yield return Arg("cross-entropy: label count", "SoftmaxCrossEntropy", "1 labels for 2 rows", b => b.SoftmaxCrossEntropy(Z(b, 2, 3), [0], null));
        yield return Arg("cross-entropy: logits rank 3", "SoftmaxCrossEntropy", "logits must be [N, classes]", b => b.SoftmaxCrossEntropy(Z(b, 2, 3, 1), [0, 1], null));
        yield return Arg("cross-entropy: dlogits shape", "SoftmaxCrossEntropy", "dlogits is [3, 2]", b => b.SoftmaxCrossEntropy(Z(b, 2, 3), [0, 1], Z(b, 3, 2)));
        yield return Arg("argmax: too few slots", "ArgMax", "1 slots for 2 rows", b => b.ArgMax(Z(b, 2, 3), new int[1]));
        yield return Range("top-k: k = 0", "TopKCorrect", "k must be at least 1", b => b.TopKCorrect(Z(b, 2, 3), [0, 1], 0, new bool[2]));
        yield return Range("sgd: learning rate NaN", "SgdUpdate", "the learning rate must be a finite value >= 0", b => b.SgdUpdate(Z(b, 6), Z(b, 6), Z(b, 6), float.NaN, 0.9f, 0f, true));
        yield return Arg("sgd: gradient size", "SgdUpdate", "grad [5]", b => b.SgdUpdate(Z(b, 6), Z(b, 5), Z(b, 6), 0.1f, 0.9f, 0f, true));
        // spiking neurons
        yield return Range("IF: θ infinite", "IfNeuronForward", "the threshold θ must be a finite value > 0", b => b.IfNeuronForward(Z(b, 4, 3), 4, float.PositiveInfinity, 0, 1, Z(b, 4, 3), null));
        yield return Range("IF: θ NaN", "IfNeuronForward", "the threshold θ must be a finite value > 0", b => b.IfNeuronForward(Z(b, 4, 3), 4, float.NaN, 0, 1, Z(b, 4, 3), null));
        yield return Range("IF: θ zero", "IfNeuronForward", "the threshold θ must be a finite value > 0", b => b.IfNeuronForward(Z(b, 4, 3), 4, 0f, 0, 1, Z(b, 4, 3), null));
        yield return Range("IF: ρ beyond the steps", "IfNeuronForward", "presimSteps (ρ) must be in 0..steps (4)", b => b.IfNeuronForward(Z(b, 4, 3), 4, 1f, 5, 1, Z(b, 4, 3), null));
        yield return Range("IF: k = 0", "IfNeuronForward", "iterations (k) must be ≥ 1", b => b.IfNeuronForward(Z(b, 4, 3), 4, 1f, 2, 0, Z(b, 4, 3), null));
        yield return Range("IF: no steps", "IfNeuronForward", "steps must be ≥ 1", b => b.IfNeuronForward(Z(b, 4, 3), 0, 1f, 0, 1, Z(b, 4, 3), null));
        yield return Arg("IF: steps do not divide the input", "IfNeuronForward", "does not split into 5 equal time steps", b => b.IfNeuronForward(Z(b, 4, 3), 5, 1f, 0, 1, Z(b, 4, 3), null));
        yield return Arg("IF: output size", "IfNeuronForward", "output [4, 2]", b => b.IfNeuronForward(Z(b, 4, 3), 4, 1f, 0, 1, Z(b, 4, 2), null));
        yield return Arg("IF: v₀ size", "IfNeuronForward", "initialPotential [4] has 4 elements, expected 3", b => b.IfNeuronForward(Z(b, 4, 3), 4, 1f, 2, 1, Z(b, 4, 3), Z(b, 4)));
        yield return Range("IF step: θ negative", "IfNeuronStep", "the threshold θ must be a finite value > 0", b => b.IfNeuronStep(Z(b, 6), -1f, Z(b, 6), Z(b, 6)));
        yield return Arg("IF step: membrane size", "IfNeuronStep", "membrane [5]", b => b.IfNeuronStep(Z(b, 6), 1f, Z(b, 5), Z(b, 6)));
    }

    /// <summary>Runs the call and returns what it threw (fails when it throws nothing).</summary>
    public static Exception Throws(Case c, IBackend backend)
    {
        try { c.Call(backend); }
        catch (Exception e) { return e; }
        Assert.Fail($"{c.Name}: {backend.Device} accepted the bad call.");
        return null!;
    }
}

public class BackendContractTests
{
    private static IEnumerable<BadBackendCalls.Case> Cases() => BadBackendCalls.All();

    [TestCaseSource(nameof(Cases))]
    public void CpuRejectsTheBadCall(BadBackendCalls.Case c)
    {
        var e = BadBackendCalls.Throws(c, Backends.Cpu);
        Assert.That(e.GetType(), Is.EqualTo(c.Expected), e.ToString());
        Assert.That(e.Message, Does.StartWith(c.Op + ": "));
        Assert.That(e.Message, Does.Contain(c.Fragment));
    }

    [Test]
    public void EveryOpOfTheInterfaceHasAContractCheckAndABadCase()
    {
        var checks = typeof(BackendContract).GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => m.Name).ToHashSet();
        var grouped = new Dictionary<string, string> { ["Add"] = "Binary", ["Mul"] = "Binary", ["Axpy"] = "Unary", ["Scale"] = "Unary",
            ["GlobalAvgPoolForward"] = "GlobalAvgPool", ["GlobalAvgPoolBackward"] = "GlobalAvgPool" };
        var withoutArguments = new HashSet<string> { "Empty", "Zeros", "Synchronize", "get_Device", "get_Description" };
        var covered = Cases().Select(c => c.Op).ToHashSet();
        var ops = typeof(IBackend).GetMethods().Select(m => m.Name).Where(n => !withoutArguments.Contains(n)).Distinct().ToList();
        Assert.Multiple(() =>
        {
            foreach (var op in ops)
            {
                Assert.That(checks, Does.Contain(grouped.GetValueOrDefault(op, op)), $"BackendContract has no check for {op}");
                if (op is not ("Fill" or "Sum")) Assert.That(covered, Does.Contain(op), $"no bad case for {op}");
            }
        });
    }

    [Test]
    public void TheLayersCheckFirstAndNameTheLayer()
    {
        // Functional keeps its own checks so an error points at the model's layer, not at the backend op.
        using var x = Tensor.Zeros(new Shape(2, 3));
        using var w = Tensor.Zeros(new Shape(4, 5));
        Assert.That(() => SpikeEngine.Autograd.F.Linear(x, w, null, "fc1"), Throws.ArgumentException.With.Message.StartsWith("fc1: "));
    }
}
