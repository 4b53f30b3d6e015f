using System.Text.Json.Serialization;
using SpikeEngine.IO;

namespace SpikeEngine.Snn;

/// <summary>
/// What one SNN run cost, per image, for every readout time t = 1..T of the run (entry t−1 of each array), so one
/// run of T = 16 answers the table's T = 1, 2, 4, 8, 16 like its per-step accuracies do (outputs up to t do not
/// depend on T, engine/METHOD.md §4):
/// <list type="bullet">
/// <item><see cref="FiringRateUpToStep"/>: spikes of all IF layers over steps 1..t per IF neuron per step;</item>
/// <item><see cref="SynOpsUpToStep"/>: spike-driven synaptic operations (accumulates) a run with T = t performs:
/// its layers process max(ρ, t) steps (with ρ &gt; t the pre-simulation needs inputs up to step ρ);</item>
/// <item><see cref="EnergyJoulesUpToStep"/>: those SynOps at <see cref="EnergyModel.PicojoulesPerAccumulate"/> plus the
/// layers before the first IF layer (which see the analog image) as multiply-accumulates at
/// <see cref="EnergyModel.PicojoulesPerMac"/> for each of the max(ρ, t) steps;</item>
/// <item><see cref="EnergyVsAnnUpToStep"/>: that energy over the ANN's (<see cref="AnnMacsPerImage"/> MACs, one forward pass).</item>
/// </list>
/// The ρ neuron updates of COS's pre-simulation are not synaptic operations and are not counted.
/// </summary>
public sealed record SpikeActivity(
    [property: JsonConverter(typeof(ResultJson.RoundedArray))] double[] FiringRateUpToStep,
    double[] SynOpsUpToStep,
    double[] EnergyJoulesUpToStep,
    [property: JsonConverter(typeof(ResultJson.RoundedArray))] double[] EnergyVsAnnUpToStep,
    double DenseMacsPerStep, long AnnMacsPerImage, double AnnEnergyJoules,
    IReadOnlyList<LayerFiringRate> Layers)
{
    /// <summary>The activity of a run recorded by a <see cref="SpikeRecorder"/> (its <see cref="SpikeRecorder.Result"/>).</summary>
    public static SpikeActivity From(SimulationStatistics s)
    {
        int steps = s.Steps;
        var processed = s.SynOpsPerProcessedStep;
        if (processed.Length < Math.Max(s.Presim, steps))
            throw new ArgumentException($"SpikeActivity: {processed.Length} processed steps recorded, the run (ρ = {s.Presim}, T = {steps}) processes {Math.Max(s.Presim, steps)}.");
        double neurons = s.Layers.Sum(l => (double)l.NeuronsPerImage);
        var rate = new double[steps];
        var synOps = new double[steps];
        var energy = new double[steps];
        var vsAnn = new double[steps];
        double annJoules = s.AnnEnergyPicojoules * 1e-12;
        double spikes = 0;
        for (int t = 1; t <= steps; t++)
        {
            spikes += s.Layers.Sum(l => l.SpikesPerStep[t - 1]);
            rate[t - 1] = neurons > 0 ? spikes / (neurons * t) : 0;
            int done = Math.Max(s.Presim, t);
            synOps[t - 1] = processed.Take(done).Sum();
            energy[t - 1] = (synOps[t - 1] * EnergyModel.PicojoulesPerAccumulate + done * s.DenseMacsPerStep * EnergyModel.PicojoulesPerMac) * 1e-12;
            vsAnn[t - 1] = annJoules > 0 ? energy[t - 1] / annJoules : double.NaN;
        }
        var layers = s.Layers.Select(l => new LayerFiringRate(l.Name, l.NeuronsPerImage, l.FiringRate)).ToList();
        return new SpikeActivity(rate, synOps, energy, vsAnn, s.DenseMacsPerStep, s.AnnMacsPerImage, annJoules, layers);
    }

    public double FiringRateAt(int t) => FiringRateUpToStep[Check(t)];
    public double SynOpsAt(int t) => SynOpsUpToStep[Check(t)];
    public double EnergyJoulesAt(int t) => EnergyJoulesUpToStep[Check(t)];
    public double EnergyVsAnnAt(int t) => EnergyVsAnnUpToStep[Check(t)];

    private int Check(int t) => t >= 1 && t <= FiringRateUpToStep.Length ? t - 1
        : throw new ArgumentOutOfRangeException(nameof(t), t, $"Activity was recorded for t = 1..{FiringRateUpToStep.Length}.");
}

/// <summary>One IF layer's firing rate over the run's T steps (spikes per neuron per step).</summary>
public sealed record LayerFiringRate(string Layer, int NeuronsPerImage,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double FiringRate);
