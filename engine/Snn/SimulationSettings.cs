namespace SpikeEngine.Snn;

/// <summary>
/// One SNN run (METHOD.md §4): simulation length T (sim_len, ≥ 1), pre-simulation length ρ (presim_len, ≥ 0;
/// 0 = plain conversion) and COS iterations k (≥ 1). Layers see N = max(ρ, T) steps.
/// </summary>
public sealed record SimulationSettings
{
    public SimulationSettings(int steps, int presim = 0, int iterations = 1)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"SNN simulation length T must be ≥ 1 (got {steps}).");
        if (presim < 0) throw new ArgumentOutOfRangeException(nameof(presim), presim, $"SNN pre-simulation length ρ must be ≥ 0 (got {presim}).");
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, $"COS iterations k must be ≥ 1 (got {iterations}).");
        Steps = steps;
        Presim = presim;
        Iterations = iterations;
    }

    /// <summary>T: steps whose outputs are used.</summary>
    public int Steps { get; }
    /// <summary>ρ: pre-simulation steps per IF layer (0 = plain conversion).</summary>
    public int Presim { get; }
    /// <summary>k: how often the COS shift is computed.</summary>
    public int Iterations { get; }
    /// <summary>N = max(ρ, T): steps every layer processes (the pre-simulation needs ρ inputs).</summary>
    public int TotalSteps => Math.Max(Presim, Steps);

    public override string ToString() => Presim == 0 ? $"plain T={Steps}" : $"COS ρ={Presim} T={Steps}{(Iterations > 1 ? $" k={Iterations}" : "")}";
}
