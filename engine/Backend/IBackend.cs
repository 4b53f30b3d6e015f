using SpikeEngine.Tensors;

namespace SpikeEngine.Backend;

/// <summary>
/// The op set of the engine, one implementation per device (Cpu/ is the reference for Cuda/).
/// Conventions: NCHW float32; every output tensor is allocated by the caller and overwritten
/// (never accumulated into) unless the summary says otherwise.
/// <para>
/// Validation contract: every op first calls its check in <see cref="BackendContract"/> (same name as
/// the op), before it reads or writes any data, so every backend rejects the same bad arguments with
/// the same exception type and message. The checks cover what can be known without reading tensor
/// contents: every tensor lives on the backend's device; ranks, shapes and element counts agree with
/// each other and with the geometry (sizes such as In, Out and C come from the weight or the input the
/// summary names, never guessed from another tensor); scalar options lie in their range (θ finite and
/// &gt; 0, ρ in 0..steps, k ≥ 1, QCFS L ≥ 1, dropout p in [0, 1], eps finite &gt; 0, SGD rates finite ≥ 0);
/// labels lie in [0, classes). Out-of-range scalars throw <see cref="ArgumentOutOfRangeException"/>,
/// everything else <see cref="ArgumentException"/>; messages start with the op's name. Tensor values
/// are not scanned (NaN and ∞ in data propagate as IEEE arithmetic says). The layers above
/// (Autograd/Functional) check again with the layer's name, for messages that point at the model.
/// </para>
/// </summary>
public interface IBackend
{
    Device Device { get; }
    /// <summary>Human-readable description, e.g. "cpu (2 threads, AVX-512)".</summary>
    string Description { get; }

    // ---- memory ----
    Tensor Empty(Shape shape);
    Tensor Zeros(Shape shape);
    /// <summary>Copies source into the first source.Length elements of destination (at most its Numel).</summary>
    void CopyFromHost(ReadOnlySpan<float> source, Tensor destination);
    /// <summary>Copies the first destination.Length elements (at most its Numel) of source to the host.</summary>
    void CopyToHost(Tensor source, Span<float> destination);
    /// <summary>source and destination hold the same number of elements.</summary>
    void Copy(Tensor source, Tensor destination);
    void Fill(Tensor tensor, float value);
    /// <summary>Waits until queued work is done (no-op on the CPU).</summary>
    void Synchronize();

    // ---- elementwise ----
    /// <summary>y = a + b elementwise (a, b, y hold the same number of elements).</summary>
    void Add(Tensor a, Tensor b, Tensor y);
    /// <summary>y = a * b elementwise (a, b, y hold the same number of elements).</summary>
    void Mul(Tensor a, Tensor b, Tensor y);
    /// <summary>y += alpha · x (accumulates).</summary>
    void Axpy(float alpha, Tensor x, Tensor y);
    /// <summary>y = alpha · x.</summary>
    void Scale(Tensor x, float alpha, Tensor y);
    /// <summary>Sum of all elements (host result).</summary>
    double Sum(Tensor x);
    /// <summary>y = min(max(x, lo), hi) elementwise (ReLU: lo = 0, hi = +∞; ONNX Clip(0, m)).</summary>
    void Clamp(Tensor x, float lo, float hi, Tensor y);
    /// <summary>dx = dy where lo &lt; x &lt; hi, else 0 (the gradient of <see cref="Clamp"/>; 0 at the bounds, as PyTorch's ReLU at 0).</summary>
    void ClampBackward(Tensor dy, Tensor x, float lo, float hi, Tensor dx);
    /// <summary>
    /// Copies <paramref name="blocks"/> runs of <paramref name="length"/> floats: run i from source[sourceOffset + i·sourceStride]
    /// to destination[destinationOffset + i·destinationStride] (channel concatenation and its gradient).
    /// </summary>
    void CopyBlocks(Tensor source, int sourceOffset, int sourceStride, Tensor destination, int destinationOffset, int destinationStride, int blocks, int length);

    // ---- dense algebra ----
    /// <summary>
    /// Row-major C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, where op transposes when asked.
    /// Offsets and leading dimensions are in elements of each tensor; every matrix must lie inside its tensor.
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb,
        float beta, Tensor c, int cOffset, int ldc);

    /// <summary>y[N,Out] = x[N,In] · wᵀ (w is [Out,In]; In and Out are read from w) + bias[Out].</summary>
    void LinearForward(Tensor x, Tensor w, Tensor? bias, Tensor y);
    /// <summary>Gradients of LinearForward; any output may be null when not wanted. dw, dbias are overwritten.</summary>
    void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias);

    /// <summary>x, w and y have exactly g's InputShape, WeightShape and OutputShape; bias has K elements.</summary>
    void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g);
    void Conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g);
    /// <summary>dw (and dbias when given) are overwritten.</summary>
    void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g);

    // ---- normalisation (x is [N,C] or [N,C,H,W]; statistics per channel) ----
    /// <summary>
    /// Batch statistics; updates running mean/var in place with momentum (PyTorch convention,
    /// running = (1−m)·running + m·batch, running var unbiased). Saves mean and 1/sqrt(var+eps) for backward.
    /// </summary>
    void BatchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd);
    void BatchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float eps, Tensor y);
    /// <summary>dgamma, dbeta overwritten.</summary>
    void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor dx, Tensor dgamma, Tensor dbeta);

    // ---- pooling ----
    void AvgPool2dForward(Tensor x, Tensor y, Pool2dGeometry g);
    void AvgPool2dBackward(Tensor dy, Tensor dx, Pool2dGeometry g);
    /// <summary>[N,C,H,W] → [N,C].</summary>
    void GlobalAvgPoolForward(Tensor x, Tensor y);
    void GlobalAvgPoolBackward(Tensor dy, Tensor dx);

    // ---- QCFS (METHOD.md §1); lambda is a one-element tensor ----
    void QcfsForward(Tensor x, Tensor lambda, int levels, Tensor y);
    /// <summary>dx overwritten; dlambda (one element) overwritten with the summed λ gradient.</summary>
    void QcfsBackward(Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda);

    // ---- dropout: mask receives 0 or 1/(1−p); y = x · mask ----
    void DropoutForward(Tensor x, float p, ulong seed, Tensor y, Tensor mask);

    // ---- loss and metrics ----
    /// <summary>
    /// Mean softmax cross-entropy over rows of logits [N,classes] against the target (1 − smoothing)·onehot + smoothing/classes
    /// (label smoothing in [0, 1); 0 = plain cross-entropy); writes (softmax − target)/N to dlogits when given.
    /// </summary>
    float SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor? dlogits, float smoothing = 0f);
    /// <summary>Index of the largest value per row of x [N,classes]; ties go to the lowest index.</summary>
    void ArgMax(Tensor x, Span<int> indices);
    /// <summary>Per row, whether the label is among the k largest values (ties broken toward lower index).</summary>
    void TopKCorrect(Tensor x, ReadOnlySpan<int> labels, int k, Span<bool> correct);

    // ---- optimiser ----
    /// <summary>
    /// PyTorch SGD: d = grad + wd·param; buf = firstStep ? d : momentum·buf + d; param −= lr·buf.
    /// </summary>
    void SgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay, bool firstStep);

    // ---- spiking neurons (METHOD.md §3–4), potentials in units of θ ----
    /// <summary>
    /// One IF layer over a whole spike train. input holds the pre-activations z of `steps` time steps,
    /// time-major ([steps·B, …]: step t occupies a block of numel/steps elements). Each neuron pre-simulates
    /// presimSteps (ρ) steps from v = 0.5, picks v₀ by the COS rule (repeated `iterations` times), then
    /// simulates all `steps` steps from v₀ over the same inputs, writing θ·s(t) to output.
    /// ρ = 0 is plain conversion (v₀ = 0.5). initialPotential (numel/steps elements), when given, receives v₀.
    /// </summary>
    void IfNeuronForward(Tensor input, int steps, float threshold, int presimSteps, int iterations,
        Tensor output, Tensor? initialPotential);
    /// <summary>Streaming: one time step for every neuron; membrane (units of θ) is read and updated.</summary>
    void IfNeuronStep(Tensor input, float threshold, Tensor membrane, Tensor output);
}
