using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// Batch normalisation over channels (PyTorch semantics): parameters weight (1) and bias (0);
/// buffers running_mean (0), running_var (1) and num_batches_tracked (a rank-0 one-element tensor,
/// as PyTorch's, incremented once per training forward).
/// </summary>
public sealed class BatchNorm2d : Module
{
    public BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f)
    {
        if (channels < 1) throw new ArgumentException($"BatchNorm2d({channels}): channel count must be positive.");
        Channels = channels;
        Momentum = momentum;
        Eps = eps;
        RegisterParameter("weight", Tensor.Full(new Shape(channels), 1f));
        RegisterParameter("bias", Tensor.Zeros(new Shape(channels)));
        RegisterBuffer("running_mean", Tensor.Zeros(new Shape(channels)));
        RegisterBuffer("running_var", Tensor.Full(new Shape(channels), 1f));
        RegisterBuffer("num_batches_tracked", Tensor.Zeros(new Shape()));
    }

    public int Channels { get; }
    /// <summary>The weight of a batch's statistics in the running ones; <see cref="Training.WeightAverage.RecomputeBatchNorm"/>
    /// sets 1/(k + 1) for batch k to make them the plain average over a pass.</summary>
    public float Momentum { get; internal set; }
    public float Eps { get; }
    public Tensor Weight => Get("weight");
    public Tensor Bias => Get("bias");
    public Tensor RunningMean => Get("running_mean");
    public Tensor RunningVar => Get("running_var");
    public Tensor NumBatchesTracked => Get("num_batches_tracked");

    private Tensor? _one; // the increment of num_batches_tracked, kept on its device

    public override Tensor Forward(Tensor x)
    {
        var y = F.BatchNorm(x, Weight, Bias, RunningMean, RunningVar, Training, Momentum, Eps, Describe());
        if (Training) CountBatch();
        return y;
    }

    /// <summary>Training mode: this layer and the QCFS unit after it as one operation (<see cref="F.BatchNormQcfs"/>).</summary>
    internal Tensor ForwardWithQcfs(Tensor x, Qcfs qcfs)
    {
        if (!Training) throw new InvalidOperationException($"{Describe()}: the fused BatchNorm + QCFS forward is for training mode.");
        var y = F.BatchNormQcfs(x, Weight, Bias, RunningMean, RunningVar, Momentum, Eps, qcfs.Up, qcfs.Levels, Describe(), qcfs.Describe());
        CountBatch();
        return y;
    }

    /// <summary>num_batches_tracked += 1 on its device (reading it with Item() would sync the GPU every step).</summary>
    private void CountBatch()
    {
        var n = NumBatchesTracked;
        if (_one is null || _one.Device != n.Device) { _one?.Dispose(); _one = Tensor.Full(n.Shape, 1f, n.Device); }
        n.Backend.Add(n, _one, n);
    }

    public override string Describe() => $"BatchNorm2d({Channels}, eps={Eps}, momentum={Momentum})";
}
