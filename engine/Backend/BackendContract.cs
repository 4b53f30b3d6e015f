using SpikeEngine.Tensors;

namespace SpikeEngine.Backend;

/// <summary>
/// The argument checks of <see cref="IBackend"/>, one method per op: every backend calls the op's check
/// first, so a bad argument is rejected the same way on every device, before any work is queued.
/// Each check costs O(rank) per call (labels O(N)); tensor contents are never scanned.
/// <para>
/// Scalar options out of their range (θ, ρ, k, steps, QCFS levels L, dropout p, top-k k, BatchNorm
/// eps/momentum, SGD rates) throw <see cref="ArgumentOutOfRangeException"/>; inconsistent shapes, element
/// counts, geometries, labels and tensors on another device throw <see cref="ArgumentException"/>.
/// Every message starts with the op's name ("Conv2dForward: weight [8, 3, 3, 3] ...").
/// </para>
/// </summary>
public static class BackendContract
{
    // ---- building blocks ----

    private static string Named(Tensor t, string what) => t.Name is null ? what : $"{what} '{t.Name}'";

    /// <summary>The tensor lives on <paramref name="device"/> (the device of the backend running the op).</summary>
    public static void OnDevice(string op, Device device, Tensor t, string what)
    {
        if (t.Device != device)
            throw new ArgumentException($"{op}: {Named(t, what)} {t.Shape} lives on {t.Device}, but this op runs on {device}.");
    }

    private static void SameCount(string op, Tensor t, string what, int expected, string expectedFrom)
    {
        if (t.Numel != expected)
            throw new ArgumentException($"{op}: {Named(t, what)} {t.Shape} has {t.Numel} elements, expected {expected} ({expectedFrom}).");
    }

    /// <summary>t holds as many elements as <paramref name="reference"/> (the message is built only on failure).</summary>
    private static void SameCountAs(string op, Tensor t, string what, Tensor reference, string referenceName)
    {
        if (t.Numel != reference.Numel)
            throw new ArgumentException($"{op}: {Named(t, what)} {t.Shape} has {t.Numel} elements, expected {reference.Numel} ({referenceName} {reference.Shape}).");
    }

    private static void SameShape(string op, Tensor t, string what, Shape expected, string expectedFrom)
    {
        if (t.Shape != expected)
            throw new ArgumentException($"{op}: {Named(t, what)} is {t.Shape}, expected {expected} ({expectedFrom}).");
    }

    private static void Rank(string op, Tensor t, string what, int rank, string layout)
    {
        if (t.Rank != rank) throw new ArgumentException($"{op}: {Named(t, what)} must be {layout}, got {t.Shape}.");
    }

    /// <summary>A scalar option: finite and <paramref name="ok"/>, else "op: rule, got value".</summary>
    private static void Finite(string op, string name, float value, bool ok, string rule)
    {
        if (!ok || !float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{op}: {rule}, got {value}.");
    }

    // ---- memory ----

    public static void CopyFromHost(Device device, int sourceLength, Tensor destination)
    {
        const string op = nameof(IBackend.CopyFromHost);
        OnDevice(op, device, destination, "destination");
        if (sourceLength > destination.Numel)
            throw new ArgumentException($"{op}: {sourceLength} values do not fit destination {destination.Shape} ({destination.Numel} elements).");
    }

    public static void CopyToHost(Device device, Tensor source, int destinationLength)
    {
        const string op = nameof(IBackend.CopyToHost);
        OnDevice(op, device, source, "source");
        if (destinationLength > source.Numel)
            throw new ArgumentException($"{op}: {destinationLength} values asked from source {source.Shape} ({source.Numel} elements).");
    }

    public static void Copy(Device device, Tensor source, Tensor destination)
    {
        const string op = nameof(IBackend.Copy);
        OnDevice(op, device, source, "source");
        OnDevice(op, device, destination, "destination");
        SameCountAs(op, destination, "destination", source, "source");
    }

    public static void Fill(Device device, Tensor tensor) => OnDevice(nameof(IBackend.Fill), device, tensor, "tensor");

    // ---- elementwise ----

    /// <summary>Add and Mul: a, b and y hold the same number of elements.</summary>
    public static void Binary(string op, Device device, Tensor a, Tensor b, Tensor y)
    {
        OnDevice(op, device, a, "a"); OnDevice(op, device, b, "b"); OnDevice(op, device, y, "y");
        SameCountAs(op, b, "b", a, "a");
        SameCountAs(op, y, "y", a, "a");
    }

    /// <summary>Axpy and Scale: x and y hold the same number of elements.</summary>
    public static void Unary(string op, Device device, Tensor x, Tensor y)
    {
        OnDevice(op, device, x, "x"); OnDevice(op, device, y, "y");
        SameCountAs(op, y, "y", x, "x");
    }

    public static void Sum(Device device, Tensor x) => OnDevice(nameof(IBackend.Sum), device, x, "x");

    public static void Clamp(Device device, Tensor x, float lo, float hi, Tensor y)
    {
        Unary(nameof(IBackend.Clamp), device, x, y);
        if (float.IsNaN(lo) || float.IsNaN(hi) || lo > hi) throw new ArgumentException($"{nameof(IBackend.Clamp)}: the bounds must satisfy lo <= hi, got lo {lo}, hi {hi}.");
    }

    public static void ClampBackward(Device device, Tensor dy, Tensor x, float lo, float hi, Tensor dx)
    {
        const string op = nameof(IBackend.ClampBackward);
        Clamp(device, x, lo, hi, dx);
        OnDevice(op, device, dy, "dy");
        SameCountAs(op, dy, "dy", x, "x");
    }

    public static void CopyBlocks(Device device, Tensor source, int sourceOffset, int sourceStride, Tensor destination, int destinationOffset, int destinationStride, int blocks, int length)
    {
        const string op = nameof(IBackend.CopyBlocks);
        OnDevice(op, device, source, "source"); OnDevice(op, device, destination, "destination");
        if (blocks < 0 || length < 0) throw new ArgumentException($"{op}: blocks and length must be >= 0, got {blocks} and {length}.");
        Matrix(op, source, "source", sourceOffset, sourceStride, blocks, length);
        Matrix(op, destination, "destination", destinationOffset, destinationStride, blocks, length);
    }

    // ---- dense algebra ----

    public static void Gemm(Device device, bool transA, bool transB, int m, int n, int k,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, Tensor c, int cOffset, int ldc)
    {
        const string op = nameof(IBackend.Gemm);
        OnDevice(op, device, a, "a"); OnDevice(op, device, b, "b"); OnDevice(op, device, c, "c");
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"{op}: sizes must be >= 0, got m {m}, n {n}, k {k}.");
        Matrix(op, a, "a", aOffset, lda, transA ? k : m, transA ? m : k);
        Matrix(op, b, "b", bOffset, ldb, transB ? n : k, transB ? k : n);
        Matrix(op, c, "c", cOffset, ldc, m, n);
    }

    /// <summary>A row-major rows×cols matrix at <paramref name="offset"/> with leading dimension ld lies inside t.</summary>
    private static void Matrix(string op, Tensor t, string what, int offset, int ld, int rows, int cols)
    {
        if (offset < 0) throw new ArgumentException($"{op}: {what} offset must be >= 0, got {offset}.");
        if (ld < Math.Max(1, cols)) throw new ArgumentException($"{op}: ld{what} {ld} is smaller than the {cols} columns of {what}.");
        if (rows == 0 || cols == 0) return;
        long end = offset + (long)(rows - 1) * ld + cols;
        if (end > t.Numel)
            throw new ArgumentException($"{op}: {what} ({rows}×{cols}, offset {offset}, ld {ld}) needs {end} elements but {Named(t, what)} {t.Shape} has {t.Numel}.");
    }

    /// <summary>LinearForward: w [Out, In], x [N, In], bias [Out] or null, y [N, Out]. In and Out come from w.</summary>
    public static void LinearForward(Device device, Tensor x, Tensor w, Tensor? bias, Tensor y)
    {
        const string op = nameof(IBackend.LinearForward);
        var (n, outF) = LinearShapes(op, device, x, w, bias);
        OnDevice(op, device, y, "y");
        SameShape(op, y, "y", new Shape(n, outF), "[N, out]");
    }

    public static void LinearBackward(Device device, Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias)
    {
        const string op = nameof(IBackend.LinearBackward);
        var (n, outF) = LinearShapes(op, device, x, w, dbias, biasName: "dbias");
        OnDevice(op, device, dy, "dy");
        SameShape(op, dy, "dy", new Shape(n, outF), "[N, out]");
        if (dx is not null) { OnDevice(op, device, dx, "dx"); SameShape(op, dx, "dx", x.Shape, "the shape of x"); }
        if (dw is not null) { OnDevice(op, device, dw, "dw"); SameShape(op, dw, "dw", w.Shape, "the shape of the weight"); }
    }

    private static (int N, int Out) LinearShapes(string op, Device device, Tensor x, Tensor w, Tensor? bias, string biasName = "bias")
    {
        OnDevice(op, device, x, "x"); OnDevice(op, device, w, "weight");
        Rank(op, w, "weight", 2, "[out, in]");
        if (x.Rank != 2) throw new ArgumentException($"{op}: x must be [N, {w.Shape[1]}], got {x.Shape}.");
        if (x.Shape[1] != w.Shape[1])
            throw new ArgumentException($"{op}: x {x.Shape} has {x.Shape[1]} features but the weight {w.Shape} expects {w.Shape[1]}.");
        Bias(op, device, bias, biasName, w.Shape[0]);
        return (x.Shape[0], w.Shape[0]);
    }

    /// <summary>An optional bias (or its gradient): one element per output channel or feature.</summary>
    private static void Bias(string op, Device device, Tensor? bias, string what, int outputs)
    {
        if (bias is null) return;
        OnDevice(op, device, bias, what);
        SameCount(op, bias, what, outputs, "one per output");
    }

    /// <summary>Conv2dForward: x, weight and y have the geometry's shapes; bias has K elements.</summary>
    public static void Conv2dForward(Device device, Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g)
    {
        Convolution(nameof(IBackend.Conv2dForward), device, g, x, "x", y, "y", w, "weight");
        Bias(nameof(IBackend.Conv2dForward), device, bias, "bias", g.K);
    }

    public static void Conv2dBackwardData(Device device, Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g)
        => Convolution(nameof(IBackend.Conv2dBackwardData), device, g, dx, "dx", dy, "dy", w, "weight");

    public static void Conv2dBackwardWeight(Device device, Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g)
    {
        Convolution(nameof(IBackend.Conv2dBackwardWeight), device, g, x, "x", dy, "dy", dw, "dw");
        Bias(nameof(IBackend.Conv2dBackwardWeight), device, dbias, "dbias", g.K);
    }

    /// <summary>A valid geometry, and the input-, output- and weight-shaped tensors of one convolution op.</summary>
    private static void Convolution(string op, Device device, Conv2dGeometry g,
        Tensor input, string inputName, Tensor output, string outputName, Tensor weight, string weightName)
    {
        ConvGeometry(op, g);
        Nchw(op, device, input, inputName, g.N, g.C, g.H, g.W);
        Nchw(op, device, output, outputName, g.N, g.K, g.OutH, g.OutW);
        Nchw(op, device, weight, weightName, g.K, g.C, g.R, g.S);
    }

    private static void ConvGeometry(string op, Conv2dGeometry g)
    {
        if (g.N < 0 || g.C < 1 || g.K < 1 || g.R < 1 || g.S < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0
            || g.H + 2 * g.PadH < g.R || g.W + 2 * g.PadW < g.S)
            throw new ArgumentException($"{op}: invalid geometry (input [{g.N}, {g.C}, {g.H}, {g.W}], weight [{g.K}, {g.C}, {g.R}, {g.S}], stride {g.StrideH}×{g.StrideW}, padding {g.PadH}×{g.PadW}); build it with Conv2dGeometry.Create.");
    }

    /// <summary>t is exactly [d0, d1, d2, d3] as the geometry says (compared without allocating).</summary>
    private static void Nchw(string op, Device device, Tensor t, string what, int d0, int d1, int d2, int d3)
    {
        OnDevice(op, device, t, what);
        var s = t.Shape;
        if (s.Rank != 4 || s[0] != d0 || s[1] != d1 || s[2] != d2 || s[3] != d3)
            throw new ArgumentException($"{op}: {Named(t, what)} is {s}, expected {new Shape(d0, d1, d2, d3)} (from the geometry).");
    }

    // ---- normalisation ----

    /// <summary>x is [N, C] or [N, C, H, W]; returns C.</summary>
    private static int Channels(string op, Device device, Tensor x)
    {
        OnDevice(op, device, x, "x");
        if (x.Rank != 2 && x.Rank != 4) throw new ArgumentException($"{op}: x must be [N, C] or [N, C, H, W], got {x.Shape}.");
        return x.Shape[1];
    }

    private static void PerChannel(string op, Device device, int c, Tensor t, string what)
    {
        OnDevice(op, device, t, what);
        SameCount(op, t, what, c, "one per channel of x");
    }

    private static void Eps(string op, float eps) => Finite(op, "eps", eps, eps > 0f, "eps must be a finite value > 0");

    public static void BatchNormForwardTraining(Device device, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd)
    {
        const string op = nameof(IBackend.BatchNormForwardTraining);
        int c = Channels(op, device, x);
        PerChannel(op, device, c, gamma, "gamma"); PerChannel(op, device, c, beta, "beta");
        PerChannel(op, device, c, runningMean, "running mean"); PerChannel(op, device, c, runningVar, "running var");
        PerChannel(op, device, c, saveMean, "saved mean"); PerChannel(op, device, c, saveInvStd, "saved 1/std");
        OnDevice(op, device, y, "y"); SameShape(op, y, "y", x.Shape, "the shape of x");
        Finite(op, nameof(momentum), momentum, momentum >= 0f && momentum <= 1f, "momentum must be in [0, 1]");
        Eps(op, eps);
        long perChannel = c == 0 ? 0 : (long)x.Numel / c;
        if (perChannel < 2)
            throw new ArgumentException($"{op}: training needs more than one value per channel to compute batch statistics; x {x.Shape} has {perChannel}.");
    }

    public static void BatchNormForwardInference(Device device, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float eps, Tensor y)
    {
        const string op = nameof(IBackend.BatchNormForwardInference);
        int c = Channels(op, device, x);
        PerChannel(op, device, c, gamma, "gamma"); PerChannel(op, device, c, beta, "beta");
        PerChannel(op, device, c, runningMean, "running mean"); PerChannel(op, device, c, runningVar, "running var");
        OnDevice(op, device, y, "y"); SameShape(op, y, "y", x.Shape, "the shape of x");
        Eps(op, eps);
    }

    public static void BatchNormBackward(Device device, Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor dx, Tensor dgamma, Tensor dbeta)
    {
        const string op = nameof(IBackend.BatchNormBackward);
        int c = Channels(op, device, x);
        OnDevice(op, device, dy, "dy"); SameShape(op, dy, "dy", x.Shape, "the shape of x");
        OnDevice(op, device, dx, "dx"); SameShape(op, dx, "dx", x.Shape, "the shape of x");
        PerChannel(op, device, c, gamma, "gamma"); PerChannel(op, device, c, saveMean, "saved mean");
        PerChannel(op, device, c, saveInvStd, "saved 1/std"); PerChannel(op, device, c, dgamma, "dgamma"); PerChannel(op, device, c, dbeta, "dbeta");
    }

    // ---- pooling ----

    public static void AvgPool2dForward(Device device, Tensor x, Tensor y, Pool2dGeometry g)
    {
        const string op = nameof(IBackend.AvgPool2dForward);
        PoolGeometry(op, g);
        Nchw(op, device, x, "x", g.N, g.C, g.H, g.W);
        Nchw(op, device, y, "y", g.N, g.C, g.OutH, g.OutW);
    }

    public static void AvgPool2dBackward(Device device, Tensor dy, Tensor dx, Pool2dGeometry g)
    {
        const string op = nameof(IBackend.AvgPool2dBackward);
        PoolGeometry(op, g);
        Nchw(op, device, dy, "dy", g.N, g.C, g.OutH, g.OutW);
        Nchw(op, device, dx, "dx", g.N, g.C, g.H, g.W);
    }

    private static void PoolGeometry(string op, Pool2dGeometry g)
    {
        if (g.N < 0 || g.C < 0 || g.KernelH < 1 || g.KernelW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0
            || 2 * g.PadH > g.KernelH || 2 * g.PadW > g.KernelW || g.H + 2 * g.PadH < g.KernelH || g.W + 2 * g.PadW < g.KernelW)
            throw new ArgumentException($"{op}: invalid geometry (input [{g.N}, {g.C}, {g.H}, {g.W}], kernel {g.KernelH}×{g.KernelW}, stride {g.StrideH}×{g.StrideW}, padding {g.PadH}×{g.PadW}); build it with Pool2dGeometry.Create.");
    }

    /// <summary>Global average pooling: the [N, C, H, W] tensor and its [N, C] result.</summary>
    public static void GlobalAvgPool(string op, Device device, Tensor image, string imageName, Tensor pooled, string pooledName)
    {
        OnDevice(op, device, image, imageName); OnDevice(op, device, pooled, pooledName);
        Rank(op, image, imageName, 4, "[N, C, H, W]");
        if (pooled.Rank != 2 || pooled.Shape[0] != image.Shape[0] || pooled.Shape[1] != image.Shape[1])
            throw new ArgumentException($"{op}: {Named(pooled, pooledName)} is {pooled.Shape}, expected [{image.Shape[0]}, {image.Shape[1]}] ([N, C] of {imageName}).");
    }

    // ---- QCFS ----

    private static void Qcfs(string op, Device device, Tensor x, Tensor lambda, int levels)
    {
        OnDevice(op, device, x, "x"); OnDevice(op, device, lambda, "λ");
        SameCount(op, lambda, "λ", 1, "one threshold per layer");
        if (levels < 1) throw new ArgumentOutOfRangeException(nameof(levels), levels, $"{op}: the quantisation level L must be at least 1, got {levels}.");
    }

    public static void QcfsForward(Device device, Tensor x, Tensor lambda, int levels, Tensor y)
    {
        const string op = nameof(IBackend.QcfsForward);
        Qcfs(op, device, x, lambda, levels);
        OnDevice(op, device, y, "y"); SameCountAs(op, y, "y", x, "x");
    }

    public static void QcfsBackward(Device device, Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda)
    {
        const string op = nameof(IBackend.QcfsBackward);
        Qcfs(op, device, x, lambda, levels);
        OnDevice(op, device, dy, "dy"); SameCountAs(op, dy, "dy", x, "x");
        OnDevice(op, device, dx, "dx"); SameCountAs(op, dx, "dx", x, "x");
        OnDevice(op, device, dlambda, "dλ"); SameCount(op, dlambda, "dλ", 1, "the gradient of one λ");
    }

    // ---- dropout ----

    public static void DropoutForward(Device device, Tensor x, float p, Tensor y, Tensor mask)
    {
        const string op = nameof(IBackend.DropoutForward);
        if (!(p >= 0f && p <= 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{op}: the dropout probability must be in [0, 1], got {p}.");
        OnDevice(op, device, x, "x"); OnDevice(op, device, y, "y"); OnDevice(op, device, mask, "mask");
        SameCountAs(op, y, "y", x, "x");
        SameCountAs(op, mask, "mask", x, "x");
    }

    // ---- loss and metrics ----

    private static (int Rows, int Classes) Rows(string op, Device device, Tensor x, string what)
    {
        OnDevice(op, device, x, what);
        Rank(op, x, what, 2, "[N, classes]");
        return (x.Shape[0], x.Shape[1]);
    }

    private static void Labels(string op, ReadOnlySpan<int> labels, int rows, int classes)
    {
        if (labels.Length != rows) throw new ArgumentException($"{op}: {labels.Length} labels for {rows} rows.");
        for (int r = 0; r < rows; r++)
            if ((uint)labels[r] >= (uint)classes)
                throw new ArgumentException($"{op}: label {labels[r]} in row {r} is outside [0, {classes}).");
    }

    public static void SoftmaxCrossEntropy(Device device, Tensor logits, ReadOnlySpan<int> labels, Tensor? dlogits, float smoothing = 0f)
    {
        const string op = nameof(IBackend.SoftmaxCrossEntropy);
        if (!(smoothing >= 0f && smoothing < 1f))
            throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, $"{op}: the label smoothing must be in [0, 1), got {smoothing}.");
        var (rows, classes) = Rows(op, device, logits, "logits");
        Labels(op, labels, rows, classes);
        if (dlogits is not null) { OnDevice(op, device, dlogits, "dlogits"); SameShape(op, dlogits, "dlogits", logits.Shape, "the shape of the logits"); }
    }

    public static void ArgMax(Device device, Tensor x, int indicesLength)
    {
        const string op = nameof(IBackend.ArgMax);
        var (rows, _) = Rows(op, device, x, "x");
        if (indicesLength < rows) throw new ArgumentException($"{op}: {indicesLength} slots for {rows} rows.");
    }

    public static void TopKCorrect(Device device, Tensor x, ReadOnlySpan<int> labels, int k, int correctLength)
    {
        const string op = nameof(IBackend.TopKCorrect);
        var (rows, classes) = Rows(op, device, x, "x");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"{op}: k must be at least 1, got {k}.");
        Labels(op, labels, rows, classes);
        if (correctLength < rows) throw new ArgumentException($"{op}: {correctLength} slots for {rows} rows.");
    }

    // ---- optimiser ----

    public static void SgdUpdate(Device device, Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay)
    {
        const string op = nameof(IBackend.SgdUpdate);
        OnDevice(op, device, param, "param"); OnDevice(op, device, grad, "grad"); OnDevice(op, device, momentumBuffer, "momentum buffer");
        SameCountAs(op, grad, "grad", param, "param");
        SameCountAs(op, momentumBuffer, "momentum buffer", param, "param");
        Finite(op, nameof(lr), lr, lr >= 0f, "the learning rate must be a finite value >= 0");
        Finite(op, nameof(momentum), momentum, momentum >= 0f, "momentum must be a finite value >= 0");
        Finite(op, nameof(weightDecay), weightDecay, weightDecay >= 0f, "weight decay must be a finite value >= 0");
    }

    // ---- spiking neurons ----

    private static void Threshold(string op, float threshold)
        => Finite(op, nameof(threshold), threshold, threshold > 0f, "the threshold θ must be a finite value > 0");

    public static void IfNeuronForward(Device device, Tensor input, int steps, float threshold, int presimSteps, int iterations,
        Tensor output, Tensor? initialPotential)
    {
        const string op = nameof(IBackend.IfNeuronForward);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"{op}: steps must be ≥ 1, got {steps}.");
        if (presimSteps < 0 || presimSteps > steps)
            throw new ArgumentOutOfRangeException(nameof(presimSteps), presimSteps,
                $"{op}: presimSteps (ρ) must be in 0..steps ({steps}), got {presimSteps}; the input must hold max(ρ, T) steps.");
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, $"{op}: iterations (k) must be ≥ 1, got {iterations}.");
        Threshold(op, threshold);
        OnDevice(op, device, input, "input"); OnDevice(op, device, output, "output");
        if (input.Numel % steps != 0)
            throw new ArgumentException($"{op}: input {input.Shape} does not split into {steps} equal time steps.");
        SameCountAs(op, output, "output", input, "input");
        if (initialPotential is not null)
        {
            OnDevice(op, device, initialPotential, "initialPotential");
            SameCount(op, initialPotential, "initialPotential", input.Numel / steps, "one per neuron");
        }
    }

    public static void IfNeuronStep(Device device, Tensor input, float threshold, Tensor membrane, Tensor output)
    {
        const string op = nameof(IBackend.IfNeuronStep);
        Threshold(op, threshold);
        OnDevice(op, device, input, "input"); OnDevice(op, device, membrane, "membrane"); OnDevice(op, device, output, "output");
        SameCountAs(op, membrane, "membrane", input, "input");
        SameCountAs(op, output, "output", input, "input");
    }
}
