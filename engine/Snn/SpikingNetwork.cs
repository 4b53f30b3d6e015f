using SpikeEngine.Autograd;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// A converted network (<see cref="SnnConverter.Convert"/>). Multi-step mode (<see cref="Simulate"/>)
/// runs every layer over the whole train at once: stateless layers as a batch of N·B, IF layers with
/// the fused IF + COS kernel, the layers before the first IF layer once on B (their input is constant).
/// Streaming mode (<see cref="Step"/>) runs the plain IF network one time step per call.
/// </summary>
public sealed class SpikingNetwork
{
    private readonly SimulationContext _context;

    internal SpikingNetwork(Module network, IReadOnlyList<IfLayer> ifLayers, IReadOnlyList<SynapseCounter> synapses, SimulationContext context)
    {
        Network = network;
        IfLayers = ifLayers;
        Synapses = synapses;
        _context = context;
    }

    public static SpikingNetwork Convert(Module ann) => SnnConverter.Convert(ann);

    private static readonly SimulationSettings StreamingSettings = new(1);

    /// <summary>
    /// The converted module tree (QCFS → IfLayer, BN folded, dropout removed). It owns every layer as a
    /// registered child: its StateDict() holds the folded ANN's keys (e.g. "features.0.weight") for every
    /// Conv2d/Linear (the synapse counters are transparent), Parameters() and To() reach them too. The IF
    /// thresholds θ are <see cref="IfLayer.Threshold"/> values, not tensors.
    /// </summary>
    public Module Network { get; }
    public IReadOnlyList<IfLayer> IfLayers { get; }
    public IReadOnlyList<SynapseCounter> Synapses { get; }

    /// <summary>
    /// Simulates N = max(ρ, T) steps for a batch of B images; returns the output layer's value at every
    /// step, time-major [N·B, classes] (row t·B + b). Outputs of steps t ≤ T do not depend on T, so one
    /// run of the largest T serves every smaller one (for the same ρ).
    /// </summary>
    public Tensor Simulate(Tensor images, SimulationSettings settings, SpikeRecorder? recorder = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (images.Rank < 2) throw new ArgumentException($"SNN input must be a batch [B, …]; got {images.Shape}.");
        using var noGrad = Grad.NoGrad();
        _context.BeginPass(streaming: false, settings, images.Shape[0], recorder);
        try
        {
            recorder?.BeginBatch(settings, images.Shape[0]);
            var y = Network.Forward(images);
            int rows = settings.TotalSteps * images.Shape[0];
            if (y.Shape[0] != rows)
                throw new InvalidOperationException($"SNN output {y.Shape} does not have N·B = {rows} rows; does the model's forward reach its IF layers?");
            return y;
        }
        finally { _context.EndPass(); }
    }

    /// <summary>
    /// Streaming (plain IF, ρ = 0): one time step of the whole network for images [B, …], membrane
    /// potentials kept in the IF layers between calls. Returns this step's output [B, classes].
    /// </summary>
    public Tensor Step(Tensor images)
    {
        using var noGrad = Grad.NoGrad();
        _context.BeginPass(streaming: true, StreamingSettings, images.Shape[0], recorder: null);
        try { return Network.Forward(images); }
        finally { _context.EndPass(); }
    }

    /// <summary>Moves every weight to <paramref name="device"/> (in place) and clears the streaming state; images must be on it too.</summary>
    public void To(Device device)
    {
        Network.To(device);
        Reset();
    }

    /// <summary>The folded ANN's weights and biases of every Conv2d/Linear, by state_dict key.</summary>
    public Dictionary<string, Tensor> StateDict() => Network.StateDict();

    /// <summary>Clears the streaming state of every IF layer.</summary>
    public void Reset()
    {
        foreach (var layer in IfLayers) layer.Reset();
    }

    /// <summary>
    /// Per step t = 1..T, the index of the largest cumulative output Σ_{τ≤t} o(τ) per image (ties → the
    /// lowest class index), from outputs [N·B, classes] of <see cref="Simulate"/>. Result [T][B].
    /// </summary>
    public static int[][] PredictionsPerStep(Tensor outputs, int batch, int steps)
    {
        int classes = outputs.Shape[-1];
        var o = outputs.Device == Device.Cpu ? outputs.Span.ToArray() : outputs.ToArray();
        if (o.Length < steps * batch * classes)
            throw new ArgumentException($"Outputs {outputs.Shape} hold fewer than T·B = {steps}·{batch} rows.");
        var sum = new float[batch * classes];
        var result = new int[steps][];
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < sum.Length; i++) sum[i] += o[t * batch * classes + i];
            result[t] = new int[batch];
            for (int b = 0; b < batch; b++)
            {
                int best = 0;
                for (int c = 1; c < classes; c++)
                    if (sum[b * classes + c] > sum[b * classes + best]) best = c;
                result[t][b] = best;
            }
        }
        return result;
    }
}
