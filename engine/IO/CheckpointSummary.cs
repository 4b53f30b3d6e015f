using System.Globalization;
using System.Text;

namespace SpikeEngine.IO;

/// <summary>What a checkpoint holds: architecture, classes, L, trainable parameter count and λ per QCFS layer.</summary>
public sealed record CheckpointSummary(
    string Path, CheckpointFormat Format, string? Arch, string ArchSource, int? Classes, int? Levels, string? Dataset,
    long ParameterCount, int TensorCount, IReadOnlyList<(string Layer, float Lambda)> Thresholds, IReadOnlyList<string> Notes)
{
    /// <summary>BatchNorm running statistics: state_dict entries that are buffers, not trainable parameters.</summary>
    private static readonly string[] BufferSuffixes = [".running_mean", ".running_var", "." + SafeTensors.IntegerSuffix];

    public const string LambdaSuffix = ".up";

    public static CheckpointSummary Load(string path) => From(Checkpoints.Load(path));

    public static CheckpointSummary From(Checkpoint c)
    {
        var inferred = ArchitectureInference.Infer(c.Tensors);
        string? arch = c.Metadata.Arch ?? inferred?.ToString();
        string source = c.Metadata.Arch is not null ? "metadata" : inferred is not null ? "inferred from keys" : "unknown";
        long parameters = c.Tensors.Where(kv => !BufferSuffixes.Any(s => kv.Key.EndsWith(s, StringComparison.Ordinal))).Sum(kv => (long)kv.Value.Numel);
        var lambdas = c.Tensors.Where(kv => kv.Key.EndsWith(LambdaSuffix, StringComparison.Ordinal) && kv.Value.Numel == 1)
            .Select(kv => (kv.Key[..^LambdaSuffix.Length], kv.Value.Span[0])).ToList();
        return new CheckpointSummary(c.Path, c.Format, arch, source, c.Metadata.Classes ?? inferred?.Classes, c.Metadata.Levels, c.Metadata.Dataset,
            parameters, c.Tensors.Count, lambdas, c.Notes);
    }

    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"checkpoint:   {Path} ({Format})");
        sb.AppendLine($"architecture: {Arch ?? "unknown"} ({ArchSource})");
        sb.AppendLine($"classes:      {(Classes is { } c ? c.ToString(inv) : "unknown")}");
        sb.AppendLine($"L:            {(Levels is { } l ? l.ToString(inv) : "unknown (not stored in .pth files; pass it as an option)")}");
        if (Dataset is not null) sb.AppendLine($"dataset:      {Dataset}");
        sb.AppendLine($"parameters:   {ParameterCount.ToString("N0", inv)} trainable ({TensorCount} tensors)");
        sb.AppendLine($"QCFS λ:       {Thresholds.Count} layers");
        foreach (var (layer, lambda) in Thresholds) sb.AppendLine($"  {layer,-40} λ = {lambda.ToString("G6", inv)}");
        foreach (var note in Notes) sb.AppendLine($"note: {note}");
        return sb.ToString();
    }
}
