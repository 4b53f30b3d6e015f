using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Autograd;

/// <summary>
/// Differentiable operations: each validates its inputs (errors name the layer and the expected vs
/// actual shapes), allocates its output through the input's backend, runs the forward op and, when
/// gradients are recorded, attaches a backward rule that calls the backend's backward ops and
/// accumulates into the inputs' gradients. Device-agnostic: no host access to tensor data.
/// </summary>
public static class F
{
    // ---- convolution and linear ----

    /// <summary>2-D convolution of x [N,C,H,W] with w [K,C,R,S] (+ bias [K]).</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0, string layer = "conv2d")
    {
        var g = Conv2dGeometry.Create(x.Shape, w.Shape, stride, stride, padding, padding, layer);
        if (bias is not null && bias.Shape != new Shape(g.K))
            throw new ArgumentException($"{layer}: bias must have shape [{g.K}], got {bias.Shape}.");
        SameDevice(layer, x, w, bias);
        var be = x.Backend;
        var y = be.Empty(g.OutputShape);
        be.Conv2dForward(x, w, bias, y, g);
        return Grad.Record(y, "Conv2d", [x, w, bias], dy =>
        {
            if (x.RequiresGrad)
            {
                var dx = be.Empty(x.Shape);
                be.Conv2dBackwardData(dy, w, dx, g);
                GiveGradient(x, dx);
            }
            if (w.RequiresGrad || (bias?.RequiresGrad ?? false))
            {
                var dw = be.Empty(w.Shape);
                var db = bias is null ? null : be.Empty(bias.Shape);
                be.Conv2dBackwardWeight(x, dy, dw, db, g);
                GiveGradient(w, dw);
                if (bias is not null) GiveGradient(bias, db!);
            }
        });
    }

    /// <summary>y [N,Out] = x [N,In] · wᵀ + bias, with w [Out,In].</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias, string layer = "linear")
    {
        if (w.Rank != 2) throw new ArgumentException($"{layer}: weight must be [out, in], got {w.Shape}.");
        if (x.Rank != 2) throw new ArgumentException($"{layer}: input must be [N, {w.Shape[1]}], got {x.Shape} (flatten it first).");
        if (x.Shape[1] != w.Shape[1]) throw new ArgumentException($"{layer}: input has {x.Shape[1]} features but the layer expects {w.Shape[1]} (input {x.Shape}, weight {w.Shape}).");
        if (bias is not null && bias.Shape != new Shape(w.Shape[0]))
            throw new ArgumentException($"{layer}: bias must have shape [{w.Shape[0]}], got {bias.Shape}.");
        SameDevice(layer, x, w, bias);
        var be = x.Backend;
        var y = be.Empty(new Shape(x.Shape[0], w.Shape[0]));
        be.LinearForward(x, w, bias, y);
        return Grad.Record(y, "Linear", [x, w, bias], dy =>
        {
            var dx = x.RequiresGrad ? be.Empty(x.Shape) : null;
            var dw = w.RequiresGrad ? be.Empty(w.Shape) : null;
            var db = bias is { RequiresGrad: true } ? be.Empty(bias.Shape) : null;
            be.LinearBackward(x, w, dy, dx, dw, db);
            if (dx is not null) GiveGradient(x, dx);
            if (dw is not null) GiveGradient(w, dw);
            if (db is not null) GiveGradient(bias!, db);
        });
    }

    // ---- normalisation ----

    /// <summary>
    /// Batch normalisation per channel of x [N,C] or [N,C,H,W]. Training: batch statistics, running
    /// statistics updated in place (momentum as PyTorch: running = (1−m)·running + m·batch). Evaluation:
    /// running statistics (no gradient support: the backward rule reports it).
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f, string layer = "batchnorm")
    {
        var ch = CheckBatchNorm(x, gamma, beta, runningMean, runningVar, layer);
        var be = x.Backend;
        var y = be.Empty(x.Shape);
        if (!training)
        {
            be.BatchNormForwardInference(x, gamma, beta, runningMean, runningVar, eps, y);
            return Grad.Record(y, "BatchNormEval", [x, gamma, beta], _ =>
                throw new NotSupportedException($"{layer}: back-propagation through BatchNorm in evaluation mode is not supported; call Train() on the model, or evaluate under Grad.NoGrad()."));
        }
        CheckBatchStatistics(x, layer);
        var saveMean = be.Empty(ch);
        var saveInvStd = be.Empty(ch);
        be.BatchNormForwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        return Grad.Record(y, "BatchNorm", [x, gamma, beta], dy =>
        {
            var dx = be.Empty(x.Shape);
            var dgamma = be.Empty(ch);
            var dbeta = be.Empty(ch);
            be.BatchNormBackward(dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
            GiveGradient(x, dx);
            GiveGradient(gamma, dgamma);
            GiveGradient(beta, dbeta);
        }, saveMean, saveInvStd);
    }

    /// <summary>The channel shape of a BatchNorm of x, after checking the shapes and devices of its tensors.</summary>
    private static Shape CheckBatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, string layer)
    {
        if (x.Rank != 2 && x.Rank != 4) throw new ArgumentException($"{layer}: input must be [N, C] or [N, C, H, W], got {x.Shape}.");
        var ch = new Shape(x.Shape[1]);
        foreach (var (t, what) in new[] { (gamma, "weight"), (beta, "bias"), (runningMean, "running_mean"), (runningVar, "running_var") })
            if (t.Shape != ch) throw new ArgumentException($"{layer}: input has {ch[0]} channels but {what} has shape {t.Shape}.");
        SameDevice(layer, x, gamma, beta, runningMean, runningVar);
        return ch;
    }

    private static void CheckBatchStatistics(Tensor x, string layer)
    {
        if (x.Numel / x.Shape[1] < 2) throw new ArgumentException($"{layer}: training needs more than one value per channel to compute batch statistics (input {x.Shape}).");
    }

    /// <summary>Off: <see cref="BatchNormQcfs"/> always runs the two operations (side-by-side tests and benchmarks).</summary>
    internal static bool FuseNormQcfs { get; set; } = true;

    /// <summary>
    /// Training-mode BatchNorm followed by QCFS (conv → BN → QCFS): one operation that never writes the BN output where
    /// the backend fuses them (<see cref="IFusedNormQcfs"/>), else <see cref="BatchNorm"/> then <see cref="Qcfs"/>.
    /// Same values and gradients either way, up to the summation order of dλ.
    /// </summary>
    public static Tensor BatchNormQcfs(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps,
        Tensor lambda, int levels, string bnLayer = "batchnorm", string qcfsLayer = "qcfs")
    {
        if (x.Backend is not IFusedNormQcfs fused || !FuseNormQcfs)
            return Qcfs(BatchNorm(x, gamma, beta, runningMean, runningVar, true, momentum, eps, bnLayer), lambda, levels, qcfsLayer);
        var ch = CheckBatchNorm(x, gamma, beta, runningMean, runningVar, bnLayer);
        CheckBatchStatistics(x, bnLayer);
        CheckQcfs(x, lambda, levels, qcfsLayer);
        var be = x.Backend;
        var y = be.Empty(x.Shape);
        var saveMean = be.Empty(ch);
        var saveInvStd = be.Empty(ch);
        fused.BatchNormQcfsForwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, lambda, levels, y, saveMean, saveInvStd);
        return Grad.Record(y, "BatchNormQcfs", [x, gamma, beta, lambda], dy =>
        {
            var dx = be.Empty(x.Shape);
            var dgamma = be.Empty(ch);
            var dbeta = be.Empty(ch);
            var dl = be.Empty(lambda.Shape);
            fused.BatchNormQcfsBackward(dy, x, gamma, beta, saveMean, saveInvStd, lambda, levels, dx, dgamma, dbeta, dl);
            GiveGradient(x, dx);
            GiveGradient(gamma, dgamma);
            GiveGradient(beta, dbeta);
            GiveGradient(lambda, dl);
        }, saveMean, saveInvStd);
    }

    // ---- pooling ----

    public static Tensor AvgPool2d(Tensor x, int kernel, int stride, int padding = 0, string layer = "avgpool2d")
    {
        var g = Pool2dGeometry.Create(x.Shape, kernel, stride, padding, layer);
        var be = x.Backend;
        var y = be.Empty(g.OutputShape);
        be.AvgPool2dForward(x, y, g);
        return Grad.Record(y, "AvgPool2d", [x], dy =>
        {
            var dx = be.Empty(x.Shape);
            be.AvgPool2dBackward(dy, dx, g);
            GiveGradient(x, dx);
        });
    }

    /// <summary>Mean over H and W: [N,C,H,W] → [N,C].</summary>
    public static Tensor GlobalAvgPool(Tensor x, string layer = "global_avgpool")
    {
        if (x.Rank != 4) throw new ArgumentException($"{layer}: input must be [N, C, H, W], got {x.Shape}.");
        var be = x.Backend;
        var y = be.Empty(new Shape(x.Shape[0], x.Shape[1]));
        be.GlobalAvgPoolForward(x, y);
        return Grad.Record(y, "GlobalAvgPool", [x], dy =>
        {
            var dx = be.Empty(x.Shape);
            be.GlobalAvgPoolBackward(dy, dx);
            GiveGradient(x, dx);
        });
    }

    // ---- activations ----

    /// <summary>QCFS (METHOD.md §1): λ·clamp(floor(x·L/λ + ½)/L, 0, 1); lambda is a one-element tensor.</summary>
    public static Tensor Qcfs(Tensor x, Tensor lambda, int levels, string layer = "qcfs")
    {
        CheckQcfs(x, lambda, levels, layer);
        var be = x.Backend;
        var y = be.Empty(x.Shape);
        be.QcfsForward(x, lambda, levels, y);
        return Grad.Record(y, "Qcfs", [x, lambda], dy =>
        {
            var dx = be.Empty(x.Shape);
            var dl = be.Empty(lambda.Shape);
            be.QcfsBackward(dy, x, lambda, levels, dx, dl);
            if (x.RequiresGrad) GiveGradient(x, dx); else dx.Dispose();
            if (lambda.RequiresGrad) GiveGradient(lambda, dl); else dl.Dispose();
        });
    }

    private static void CheckQcfs(Tensor x, Tensor lambda, int levels, string layer)
    {
        if (lambda.Numel != 1) throw new ArgumentException($"{layer}: λ ('up') must have one element, got shape {lambda.Shape}.");
        if (levels < 1) throw new ArgumentException($"{layer}: the quantisation level L must be at least 1, got {levels}.");
        SameDevice(layer, x, lambda);
    }

    /// <summary>min(max(x, lo), hi): ReLU (lo 0, hi +∞) and ONNX Clip(0, m) of imported networks; gradient dy where lo &lt; x &lt; hi.</summary>
    public static Tensor Clamp(Tensor x, float lo, float hi, string layer = "clamp")
    {
        if (float.IsNaN(lo) || float.IsNaN(hi) || lo > hi) throw new ArgumentException($"{layer}: the bounds must satisfy lo <= hi, got {lo} and {hi}.");
        var be = x.Backend;
        var y = be.Empty(x.Shape);
        be.Clamp(x, lo, hi, y);
        return Grad.Record(y, "Clamp", [x], dy =>
        {
            var dx = be.Empty(x.Shape);
            be.ClampBackward(dy, x, lo, hi, dx);
            GiveGradient(x, dx);
        });
    }

    /// <summary>Inverted dropout with probability p (identity when not training or p = 0: returns x itself).</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, ulong seed, string layer = "dropout")
    {
        if (p < 0f || p >= 1f) throw new ArgumentException($"{layer}: dropout probability must be in [0, 1), got {p}.");
        if (!training || p == 0f) return x;
        var be = x.Backend;
        var y = be.Empty(x.Shape);
        var mask = be.Empty(x.Shape);
        be.DropoutForward(x, p, seed, y, mask);
        return Grad.Record(y, "Dropout", [x], dy =>
        {
            var dx = be.Empty(x.Shape);
            be.Mul(dy, mask, dx);
            GiveGradient(x, dx);
        }, mask);
    }

    // ---- shape ----

    /// <summary>A view with another shape (no copy); the gradient is reshaped back.</summary>
    public static Tensor Reshape(Tensor x, Shape shape, string layer = "reshape")
    {
        if (shape.Numel != x.Numel) throw new ArgumentException($"{layer}: cannot reshape {x.Shape} to {shape} (element counts differ: {x.Numel} vs {shape.Numel}).");
        var y = x.View(shape);
        // The view's gradient is released by the tape after this rule runs, so copy (Accumulate) rather than hand over.
        return Grad.Record(y, "Reshape", [x], dy => Grad.Accumulate(x, dy.View(x.Shape)));
    }

    /// <summary>[N, ...] → [N, prod(...)].</summary>
    public static Tensor Flatten(Tensor x, string layer = "flatten")
    {
        if (x.Rank < 1) throw new ArgumentException($"{layer}: cannot flatten a scalar.");
        var target = new Shape(x.Shape[0], x.Shape.SizeFrom(1));
        return x.Shape == target ? x : Reshape(x, target, layer);
    }

    /// <summary>Elementwise sum of two same-shaped tensors (residual connection).</summary>
    public static Tensor Add(Tensor a, Tensor b, string layer = "add")
    {
        if (a.Shape != b.Shape) throw new ArgumentException($"{layer}: cannot add tensors of shapes {a.Shape} and {b.Shape}.");
        SameDevice(layer, a, b);
        var be = a.Backend;
        var y = be.Empty(a.Shape);
        be.Add(a, b, y);
        return Grad.Record(y, "Add", [a, b], dy =>
        {
            Grad.Accumulate(a, dy);
            Grad.Accumulate(b, dy);
        });
    }

    /// <summary>Concatenation along axis 1 of tensors [N, Cᵢ, …] that agree on every other axis (the gradient is split back).</summary>
    public static Tensor ConcatChannels(IReadOnlyList<Tensor> inputs, string layer = "concat")
    {
        if (inputs.Count == 0) throw new ArgumentException($"{layer}: nothing to concatenate.");
        var first = inputs[0];
        if (first.Rank < 2) throw new ArgumentException($"{layer}: inputs must be [N, C, …], got {first.Shape}.");
        int n = first.Shape[0], inner = first.Shape.SizeFrom(2), channels = 0;
        foreach (var t in inputs)
        {
            bool same = t.Rank == first.Rank && t.Shape[0] == n;
            for (int a = 2; same && a < t.Rank; a++) same = t.Shape[a] == first.Shape[a];
            if (!same) throw new ArgumentException($"{layer}: cannot concatenate {t.Shape} with {first.Shape} along axis 1 (every other axis must agree).");
            SameDevice(layer, first, t);
            channels += t.Shape[1];
        }
        var dims = first.Shape.ToArray();
        dims[1] = channels;
        var be = first.Backend;
        var y = be.Empty(new Shape(dims));
        int outStride = channels * inner, offset = 0;
        var offsets = new int[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            int length = inputs[i].Shape[1] * inner;
            offsets[i] = offset;
            be.CopyBlocks(inputs[i], 0, length, y, offset, outStride, n, length);
            offset += length;
        }
        return Grad.Record(y, "ConcatChannels", [.. inputs], dy =>
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                var x = inputs[i];
                if (!x.RequiresGrad) continue;
                int length = x.Shape[1] * inner;
                var dx = be.Empty(x.Shape);
                be.CopyBlocks(dy, offsets[i], outStride, dx, 0, length, n, length);
                GiveGradient(x, dx);
            }
        });
    }

    // ---- loss ----

    /// <summary>
    /// Mean softmax cross-entropy of logits [N, classes] against integer labels, with label smoothing
    /// <paramref name="smoothing"/> (the target is (1 − ε)·onehot + ε/classes; 0 = none); returns a one-element tensor.
    /// </summary>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, float smoothing = 0f, string layer = "cross_entropy")
    {
        if (logits.Rank != 2) throw new ArgumentException($"{layer}: logits must be [N, classes], got {logits.Shape}.");
        if (labels.Length != logits.Shape[0]) throw new ArgumentException($"{layer}: {labels.Length} labels given for {logits.Shape[0]} rows of logits.");
        int classes = logits.Shape[1];
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentException($"{layer}: label {labels[i]} at row {i} is outside [0, {classes}).");
        var be = logits.Backend;
        bool record = Grad.ShouldRecord(logits);
        var dlogits = record ? be.Empty(logits.Shape) : null;
        float loss = be.SoftmaxCrossEntropy(logits, labels, dlogits, smoothing);
        var y = Tensor.Full(new Shape(1), loss, logits.Device);
        if (!record) return y;
        return Grad.Record(y, "SoftmaxCrossEntropy", [logits], dy =>
        {
            float scale = dy.Item();
            var dx = be.Empty(logits.Shape);
            be.Scale(dlogits!, scale, dx);
            GiveGradient(logits, dx);
        }, dlogits!);
    }

    // ---- helpers ----

    /// <summary>Passes ownership of a freshly computed gradient to t (no copy when t has none yet).</summary>
    private static void GiveGradient(Tensor t, Tensor gradient)
    {
        if (!t.RequiresGrad) { gradient.Dispose(); return; }
        if (t.Grad is null && gradient.Shape == t.Shape)
        {
            t.Grad = gradient;
            return;
        }
        Grad.Accumulate(t, gradient);
        gradient.Dispose();
    }

    private static void SameDevice(string layer, Tensor first, params Tensor?[] others)
    {
        foreach (var t in others)
            if (t is not null && t.Device != first.Device)
                throw new ArgumentException($"{layer}: tensors on different devices ({first.Device} and {t.Device}{(t.Name is null ? "" : " for " + t.Name)}).");
    }
}
