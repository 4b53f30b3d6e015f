using System.Text.Json.Serialization;
using SpikeEngine.IO;
using SpikeEngine.Snn;

namespace SpikeEngine.Workflows;

/// <summary>One IF layer, plain conversion beside COS. Offset-spike ψ histogram bins: ≤ −2, −1, 0, +1, ≥ +2 (<see cref="Diagnosis.OffsetHistogramBins"/>).</summary>
public sealed record LayerDiagnosis(
    string Layer, long Neurons,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double FiringRatePlain,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double FiringRateCos,
    long[] OffsetHistogramPlain, long[] OffsetHistogramCos,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double ShiftedUp,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double ShiftedDown,
    double SpikesPerImagePerStep);

/// <summary>Per IF layer firing and offset statistics, SynOps and energy per image (plain conversion vs COS with ρ, T).</summary>
public sealed record Diagnosis(
    [property: JsonPropertyOrder(-1)] long Samples, [property: JsonPropertyOrder(-1)] int PresimLen, [property: JsonPropertyOrder(-1)] int SimLen,
    IReadOnlyList<LayerDiagnosis> Layers,
    double AnnMacsPerImage, double SnnSynopsPerImage, double SnnDenseMacsPerImage,
    double AnnEnergyJoulesPerImage, double SnnEnergyJoulesPerImage, string EnergyConstants)
{
    private static readonly string[] Bins = ["<=-2", "-1", "0", "+1", ">=+2"];

    /// <summary>The ψ ranges of the five histogram bins.</summary>
    [JsonPropertyOrder(-1)] public IReadOnlyList<string> OffsetHistogramBins => Bins;
}

public static class Diagnostics
{
    /// <summary>
    /// Simulates every batch with a spike recorder attached, once plain (ρ = 0) and once with COS (<paramref name="cos"/>;
    /// when its ρ is 0 the plain run serves both), and summarises per layer.
    /// </summary>
    public static Diagnosis Run(LoadedModel model, ImageSplit data, SimulationSettings cos, int batchSize, CancellationToken cancel = default)
    {
        var plainSettings = new SimulationSettings(cos.Steps);
        var settings = new List<SimulationSettings> { plainSettings };
        var recorders = new List<SpikeRecorder?> { new SpikeRecorder() };
        if (cos.Presim > 0)
        {
            settings.Add(cos);
            recorders.Add(new SpikeRecorder());
        }
        SnnEvaluator.Evaluate(model.Ann, model.Snn, model.Loader(data, batchSize), settings, new SnnEvaluationOptions
        {
            Device = model.Device, Recorders = recorders, Cancel = cancel,
        });
        var plain = recorders[0]!.Result();
        var withCos = recorders[^1]!.Result();
        var layers = withCos.Layers.Select(c =>
        {
            var p = plain.Layers.First(l => l.Name == c.Name);
            return new LayerDiagnosis(c.Name, c.NeuronsPerImage, p.FiringRate, c.FiringRate, Bins(p.OffsetHistogram), Bins(c.OffsetHistogram),
                c.ShiftedUp, c.ShiftedDown, c.SpikesPerStep.Average());
        }).ToList();
        return new Diagnosis(withCos.Images, cos.Presim, cos.Steps, layers, withCos.AnnMacsPerImage, withCos.SynOpsPerStep.Sum(),
            withCos.DenseMacsPerStep * cos.Steps, withCos.AnnEnergyPicojoules * 1e-12, withCos.SnnEnergyPicojoules * 1e-12,
            $"{EnergyModel.PicojoulesPerAccumulate} pJ per accumulate (SynOp), {EnergyModel.PicojoulesPerMac} pJ per multiply-accumulate (45 nm CMOS)");
    }

    /// <summary>ψ → count folded into the five bins ≤ −2, −1, 0, +1, ≥ +2.</summary>
    private static long[] Bins(SortedDictionary<int, long> histogram)
    {
        var bins = new long[5];
        foreach (var (psi, count) in histogram) bins[Math.Clamp(psi, -2, 2) + 2] += count;
        return bins;
    }
}
