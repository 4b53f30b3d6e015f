namespace SpikeEngine.Snn;

/// <summary>
/// Shared by the layers of one <see cref="SpikingNetwork"/> while it runs: how the current forward pass
/// is laid out in time and what to record. Set by the network before each pass.
/// </summary>
internal sealed class SimulationContext
{
    /// <summary>Multi-step: whole trains [N·B, …]. Streaming: one step [B, …] with membrane state kept in the IF layers.</summary>
    public bool Streaming { get; set; }
    public SimulationSettings Settings { get; set; } = new(1);
    /// <summary>B, the number of images in the pass.</summary>
    public int Batch { get; set; }
    /// <summary>Whether an IF layer has run in this pass (layers before it see the analog image).</summary>
    public bool SpikesStarted { get; set; }
    /// <summary>When set, IF layers and synaptic layers report to it.</summary>
    public SpikeRecorder? Recorder { get; set; }

    public int TotalSteps => Streaming ? 1 : Settings.TotalSteps;
}
