using SpikeEngine.Backend;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// Integrate-and-fire neurons that replace one QCFS unit (θ = λ, reset by subtraction, METHOD.md §3–4).
/// Multi-step: Forward takes the whole train [N·B, …] (time-major) and runs the fused IF + COS kernel;
/// an input of B rows is the constant analog input of the layers before the first IF layer and is
/// repeated over time. Streaming: Forward takes one step [B, …] and keeps the membrane between calls.
/// </summary>
public sealed class IfLayer : Module
{
    private Tensor? _membrane;

    internal IfLayer(string layerName, float threshold, int levels, SimulationContext context)
    {
        if (!(threshold > 0) || float.IsInfinity(threshold))
            throw new ArgumentException($"SNN conversion: QCFS layer '{layerName}' has threshold λ = {threshold}; an IF layer needs a finite λ > 0 (was the checkpoint trained with QCFS?).");
        LayerName = layerName;
        Threshold = threshold;
        Levels = levels;
        Context = context;
    }

    /// <summary>The path of the QCFS unit this layer replaces (e.g. "layer1.2", "conv2_x.0.relu").</summary>
    public string LayerName { get; }
    /// <summary>θ = λ of the QCFS unit.</summary>
    public float Threshold { get; }
    /// <summary>The QCFS level L the ANN was trained with (for reports).</summary>
    public int Levels { get; }
    internal SimulationContext Context { get; }

    public override Tensor Forward(Tensor x)
    {
        Context.MarkSpikesStarted();
        return Context.Streaming ? Step(x) : MultiStep(x);
    }

    private Tensor MultiStep(Tensor x)
    {
        var ctx = Context;
        int steps = ctx.TotalSteps, batch = ctx.Batch;
        Tensor train = x;
        if (x.Shape[0] == batch && steps > 1) train = Repeat(x, steps);
        else if (x.Shape[0] != batch * steps)
            throw new InvalidOperationException($"IF layer '{LayerName}': input {x.Shape} is neither B = {batch} nor N·B = {steps}·{batch} rows.");
        var output = train.Backend.Empty(train.Shape);
        var recorder = ctx.Recorder;
        var v0 = recorder is null ? null : train.Backend.Empty(new Shape(train.Numel / steps));
        var s = ctx.Settings;
        train.Backend.IfNeuronForward(train, steps, Threshold, s.Presim, s.Iterations, output, v0);
        recorder?.RecordIfLayer(this, train, output, v0!, steps, s.Steps);
        v0?.Dispose();
        if (!ReferenceEquals(train, x)) train.Dispose();
        return output;
    }

    private Tensor Step(Tensor x)
    {
        if (_membrane is null || _membrane.Shape != x.Shape || _membrane.Device != x.Device)
        {
            _membrane?.Dispose();
            _membrane = Tensor.Full(x.Shape, 0.5f, x.Device);
        }
        var output = x.Backend.Empty(x.Shape);
        x.Backend.IfNeuronStep(x, Threshold, _membrane, output);
        return output;
    }

    /// <summary>Forgets the streaming membrane state (the next step starts from v = 0.5).</summary>
    public void Reset()
    {
        _membrane?.Dispose();
        _membrane = null;
    }

    /// <summary>The membrane potential (units of θ) after the last streaming step, or null before the first.</summary>
    public Tensor? Membrane => _membrane;

    /// <summary>[B, …] → [times·B, …], the block repeated (the constant input of the first IF layer).</summary>
    private static Tensor Repeat(Tensor x, int times)
    {
        var dims = x.Shape.ToArray();
        dims[0] *= times;
        var y = x.Backend.Empty(new Shape(dims));
        if (x.Device == Device.Cpu)
        {
            var src = x.Span;
            var dst = y.Span;
            for (int t = 0; t < times; t++) src.CopyTo(dst.Slice(t * src.Length, src.Length));
        }
        else
        {
            // On the device, without a host round trip: y[times, n] = ones[times, 1] · x[1, n], one GEMM with
            // k = 1, exact (every element is 1·x).
            int n = x.Numel;
            using var ones = Tensor.Full(new Shape(times, 1), 1f, x.Device);
            y.Backend.Gemm(false, false, times, n, 1, 1f, ones, 0, 1, x, 0, n, 0f, y, 0, n);
        }
        return y;
    }

    public override string Describe() => $"IfLayer(θ={Threshold}, from '{LayerName}', L={Levels})";
}
