using System.Globalization;
using SpikeEngine.Data;

namespace SpikeEngine.IO;

/// <summary>
/// What a checkpoint says about its model — the one home of the checkpoint metadata keys. Stored as the
/// safetensors "__metadata__" string map under "arch" (e.g. "resnet20"), "classes", "L" (QCFS quantisation
/// levels), "dataset" and "normalization_mean" / "normalization_std" (per-channel input normalisation,
/// comma-separated). The trainer adds "format" and its epoch/accuracy/resume keys (below); every key not
/// parsed here passes through in <see cref="Extra"/>.
/// </summary>
public sealed record ModelMetadata
{
    public const string ArchKey = "arch", ClassesKey = "classes", LevelsKey = "L", DatasetKey = "dataset", MeanKey = "normalization_mean", StdKey = "normalization_std";

    /// <summary>"format" = <see cref="TrainedFormat"/> marks a checkpoint written by the engine's trainer.</summary>
    public const string FormatKey = "format", TrainedFormat = "spikeengine-qcfs";
    /// <summary>Keys of the trainer's checkpoints: the epoch written, its test accuracy (best file), the resume state (last file).</summary>
    public const string EpochKey = "epoch", AccuracyKey = "accuracy", Top5Key = "top5", BestAccuracyKey = "best_accuracy", BestEpochKey = "best_epoch", SeedKey = "seed";
    /// <summary>
    /// Where a fine-tuned model started (train --init_from): the starting file's name, and how many epochs had trained
    /// it before this run (its own <see cref="EpochsBeforeKey"/> plus its <see cref="EpochKey"/>), so a model trained in
    /// phases says how many epochs it had in all.
    /// </summary>
    public const string InitFromKey = "init_from", EpochsBeforeKey = "epochs_before";
    /// <summary>The initial QCFS λ of a model trained from a non-reference start (train --initial_threshold).</summary>
    public const string InitialThresholdKey = "initial_threshold";
    /// <summary>Tensors under this prefix are optimiser state (a resumable training checkpoint), not model weights.</summary>
    public const string OptimiserPrefix = "sgd.";
    /// <summary>SGD momentum buffer of parameter P: "sgd.momentum_buffer.P".</summary>
    public const string MomentumPrefix = OptimiserPrefix + "momentum_buffer.";
    /// <summary>
    /// Stochastic weight averaging: the running mean of parameter P in a resumable checkpoint is "sgd.swa_average.P"
    /// (training state, ignored when the file is loaded as a model) over "swa_count" epochs; an averaged model
    /// (swa.safetensors) records in "swa_epochs" how many epochs it averages.
    /// </summary>
    public const string SwaAveragePrefix = OptimiserPrefix + "swa_average.", SwaCountKey = "swa_count", SwaEpochsKey = "swa_epochs";

    /// <summary>The metadata of a model the engine trains: everything needed to rebuild and feed it.</summary>
    public static ModelMetadata Of(string arch, int classes, int levels, string dataset, Normalization normalization) => new()
    {
        Arch = arch, Classes = classes, Levels = levels, Dataset = dataset, Mean = normalization.Mean, Std = normalization.Std,
    };

    public string? Arch { get; init; }
    public int? Classes { get; init; }
    /// <summary>QCFS quantisation levels L.</summary>
    public int? Levels { get; init; }
    public string? Dataset { get; init; }
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    public Normalization? Normalization => Mean is not null && Std is not null ? new Normalization(Mean, Std) : null;

    public ModelMetadata WithNormalization(Normalization n) => this with { Mean = n.Mean, Std = n.Std };

    /// <summary>The <see cref="InitFromKey"/>/<see cref="EpochsBeforeKey"/> entries of a run that starts from <paramref name="start"/> (read from <paramref name="path"/>).</summary>
    public static Dictionary<string, string> Provenance(ModelMetadata start, string path)
    {
        var d = new Dictionary<string, string> { [InitFromKey] = Path.GetFileName(path) };
        int before = 0;
        foreach (var key in new[] { EpochsBeforeKey, EpochKey })
            if (start.Extra.TryGetValue(key, out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0)
                before += n;
        if (before > 0) d[EpochsBeforeKey] = before.ToString(CultureInfo.InvariantCulture);
        return d;
    }

    public Dictionary<string, string> ToDictionary()
    {
        var d = new Dictionary<string, string>(Extra);
        if (Arch is not null) d[ArchKey] = Arch;
        if (Classes is { } c) d[ClassesKey] = c.ToString(CultureInfo.InvariantCulture);
        if (Levels is { } l) d[LevelsKey] = l.ToString(CultureInfo.InvariantCulture);
        if (Dataset is not null) d[DatasetKey] = Dataset;
        if (Mean is not null) d[MeanKey] = FormatFloats(Mean);
        if (Std is not null) d[StdKey] = FormatFloats(Std);
        return d;
    }

    /// <summary>Parses the metadata map; <paramref name="source"/> (a file name) is named in errors.</summary>
    public static ModelMetadata FromDictionary(IReadOnlyDictionary<string, string> map, string source)
    {
        string[] known = [ArchKey, ClassesKey, LevelsKey, DatasetKey, MeanKey, StdKey];
        var m = new ModelMetadata
        {
            Arch = map.GetValueOrDefault(ArchKey),
            Classes = ParseInt(map, ClassesKey, source),
            Levels = ParseInt(map, LevelsKey, source),
            Dataset = map.GetValueOrDefault(DatasetKey),
            Mean = ParseFloats(map, MeanKey, source),
            Std = ParseFloats(map, StdKey, source),
            Extra = map.Where(kv => !known.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value),
        };
        if ((m.Mean is null) != (m.Std is null) || (m.Mean is not null && m.Mean.Length != m.Std!.Length))
            throw new InvalidDataException($"{source}: metadata '{MeanKey}' and '{StdKey}' must both be present with the same number of channels (mean: {map.GetValueOrDefault(MeanKey) ?? "absent"}, std: {map.GetValueOrDefault(StdKey) ?? "absent"}).");
        if (m.Std is not null && m.Std.Any(s => !(s > 0)))
            throw new InvalidDataException($"{source}: metadata '{StdKey}' must be positive, found {map[StdKey]}.");
        return m;
    }

    private static int? ParseInt(IReadOnlyDictionary<string, string> map, string key, string source)
    {
        if (!map.TryGetValue(key, out var s)) return null;
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
        throw new InvalidDataException($"{source}: metadata '{key}' must be a positive integer, found '{s}'.");
    }

    private static float[]? ParseFloats(IReadOnlyDictionary<string, string> map, string key, string source)
    {
        if (!map.TryGetValue(key, out var s)) return null;
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
                throw new InvalidDataException($"{source}: metadata '{key}' must be comma-separated numbers, found '{s}'.");
        return values;
    }

    private static string FormatFloats(float[] values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
