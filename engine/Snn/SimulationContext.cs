namespace SpikeEngine.Snn;

/// <summary>
/// The layout of the forward pass a <see cref="SpikingNetwork"/> is running, shared with its IF layers and
/// synapse counters (they are modules, so Forward(x) cannot carry it). Only the network starts and ends a
/// pass (<see cref="BeginPass"/>, <see cref="EndPass"/>); the only thing a layer changes is
/// <see cref="SpikesStarted"/>, through <see cref="MarkSpikesStarted"/>, when an IF layer runs.
/// </summary>
internal sealed class SimulationContext
{
    /// <summary>Multi-step: whole trains [N·B, …]. Streaming: one step [B, …] with membrane state kept in the IF layers.</summary>
    public bool Streaming { get; private set; }
    public SimulationSettings Settings { get; private set; } = new(1);
    /// <summary>B, the number of images in the pass.</summary>
    public int Batch { get; private set; }
    /// <summary>Whether an IF layer has run in this pass (layers before it see the analog image).</summary>
    public bool SpikesStarted { get; private set; }
    /// <summary>When set, IF layers and synaptic layers report to it.</summary>
    public SpikeRecorder? Recorder { get; private set; }

    public int TotalSteps => Streaming ? 1 : Settings.TotalSteps;

    /// <summary>Sets every field of a new pass (nothing is left over from the previous one).</summary>
    public void BeginPass(bool streaming, SimulationSettings settings, int batch, SpikeRecorder? recorder)
    {
        Streaming = streaming;
        Settings = settings;
        Batch = batch;
        Recorder = recorder;
        SpikesStarted = false;
    }

    /// <summary>Called by an IF layer as it runs: synaptic layers after it receive spikes.</summary>
    public void MarkSpikesStarted() => SpikesStarted = true;

    /// <summary>Detaches the recorder, so nothing reports to it once the pass is over.</summary>
    public void EndPass() => Recorder = null;
}
