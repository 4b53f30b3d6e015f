using System.Globalization;
using SpikeEngine.Data;

namespace SpikeEngine.IO;

/// <summary>
/// What a checkpoint says about its model, stored as the safetensors "__metadata__" string map under the keys
/// "arch" (e.g. "resnet20"), "classes", "L" (QCFS quantisation levels), "dataset" and "normalization_mean" /
/// "normalization_std" (per-channel input normalisation, comma-separated) — the keys the trainer writes
/// (Training.ModelInfo). Other keys (format, epoch, accuracy, …) pass through in <see cref="Extra"/>.
/// </summary>
public sealed record ModelMetadata
{
    public const string ArchKey = "arch", ClassesKey = "classes", LevelsKey = "L", DatasetKey = "dataset", MeanKey = "normalization_mean", StdKey = "normalization_std";

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
