using System.Text.Json.Serialization;
using SpikeEngine.Distributed;
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

    /// <summary>How many processes shared the work (<see cref="Samples"/> is the total over all of them).</summary>
    [JsonPropertyOrder(-1)] public int Ranks { get; init; } = 1;

    /// <summary>The ψ ranges of the five histogram bins.</summary>
    [JsonPropertyOrder(-1)] public IReadOnlyList<string> OffsetHistogramBins => Bins;
}

public static class Diagnostics
{
    /// <summary>
    /// Simulates every batch with a spike recorder attached, once plain (ρ = 0) and once with COS (<paramref name="cos"/>;
    /// when its ρ is 0 the plain run serves both), and summarises per layer. With <paramref name="ranks"/> each rank
    /// simulates its share of the batches and the counts are summed exactly (every rank needs at least one batch).
    /// </summary>
    public static Diagnosis Run(LoadedModel model, ImageSplit data, SimulationSettings cos, int batchSize, CancellationToken cancel = default,
        ICommunicator? ranks = null)
    {
        int batches = (data.Count + batchSize - 1) / batchSize;
        if (ranks is not null && batches < ranks.Size)
            throw new ArgumentException($"diagnose on {ranks.Size} ranks needs at least {ranks.Size} batches; {data.Count} images in batches of {batchSize} make {batches}. Use a smaller batch size or fewer ranks.");
        var plainSettings = new SimulationSettings(cos.Steps);
        var settings = new List<SimulationSettings> { plainSettings };
        var recorders = new List<SpikeRecorder?> { new SpikeRecorder() };
        if (cos.Presim > 0)
        {
            settings.Add(cos);
            recorders.Add(new SpikeRecorder());
        }
        SnnEvaluator.Evaluate(model.Ann, model.Snn, model.Loader(data, batchSize, ranks), settings, new SnnEvaluationOptions
        {
            Device = model.Device, Recorders = recorders, Cancel = cancel, Ranks = ranks,
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
            $"{EnergyModel.PicojoulesPerAccumulate} pJ per accumulate (SynOp), {EnergyModel.PicojoulesPerMac} pJ per multiply-accumulate (45 nm CMOS)")
        {
            Ranks = ranks?.Size ?? 1,
        };
    }

    /// <summary>ψ → count folded into the five bins ≤ −2, −1, 0, +1, ≥ +2.</summary>
    private static long[] Bins(SortedDictionary<int, long> histogram)
    {
        var bins = new long[5];
        foreach (var (psi, count) in histogram) bins[Math.Clamp(psi, -2, 2) + 2] += count;
        return bins;
    }
}
