using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SpikeEngine.IO.Onnx;
using SpikeEngine.Nn.Graph;

namespace SpikeEngine.IO;

/// <summary>λ (the trained threshold) of one QCFS layer.</summary>
public sealed record LambdaEntry(string Layer, float Lambda);

/// <summary>One layer of an imported graph: its node name, op, description and trainable parameter count.</summary>
public sealed record GraphLayerEntry(string Layer, string Op, string Description, long Parameters);

/// <summary>
/// What a checkpoint holds: architecture, classes, L, trainable parameter count, λ per QCFS layer, and its whole
/// metadata map. Its JSON (<see cref="ResultJson"/>) is the Runner's `info --json`.
/// </summary>
public sealed record CheckpointSummary(
    [property: JsonPropertyName("checkpoint")] string Path,
    [property: JsonConverter(typeof(CheckpointSummary.FormatName))] CheckpointFormat Format,
    [property: JsonPropertyName("net_arch")] string? Arch,
    [property: JsonIgnore] string ArchSource,
    int? Classes,
    [property: JsonPropertyName("L")] int? Levels,
    string? Dataset,
    [property: JsonPropertyName("parameters")] long ParameterCount,
    [property: JsonPropertyName("entries")] int TensorCount,
    [property: JsonPropertyName("lambdas")] IReadOnlyList<LambdaEntry> Thresholds,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<string> Notes)
{
    /// <summary>The layers of an imported graph (ONNX files and checkpoints of fine-tuned imported networks; empty otherwise).</summary>
    public IReadOnlyList<GraphLayerEntry> Layers { get; init; } = [];

    /// <summary>How a format is named to users: "PyTorch .pth" or "safetensors".</summary>
    public static string NameOf(CheckpointFormat format) => format switch
    {
        CheckpointFormat.PyTorch => "PyTorch .pth",
        CheckpointFormat.Onnx => "ONNX",
        _ => "safetensors",
    };

    private sealed class FormatName : JsonConverter<CheckpointFormat>
    {
        public override CheckpointFormat Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var name = reader.GetString();
            return Enum.GetValues<CheckpointFormat>().FirstOrDefault(f => NameOf(f) == name, CheckpointFormat.SafeTensors);
        }
        public override void Write(Utf8JsonWriter writer, CheckpointFormat value, JsonSerializerOptions options) => writer.WriteStringValue(NameOf(value));
    }

    /// <summary>BatchNorm running statistics: state_dict entries that are buffers, not trainable parameters.</summary>
    private static readonly string[] BufferSuffixes = [".running_mean", ".running_var", "." + SafeTensors.IntegerSuffix];

    public const string LambdaSuffix = ".up";

    public static CheckpointSummary Load(string path, OnnxImportOptions? onnx = null) => From(Checkpoints.Load(path, onnx));

    public static CheckpointSummary From(Checkpoint c)
    {
        var inferred = ArchitectureInference.Infer(c.Tensors);
        string? arch = c.Metadata.Arch ?? inferred?.ToString();
        string source = c.Metadata.Arch is not null ? "metadata" : inferred is not null ? "inferred from keys" : "unknown";
        long parameters = c.Tensors.Where(kv => !BufferSuffixes.Any(s => kv.Key.EndsWith(s, StringComparison.Ordinal))).Sum(kv => (long)kv.Value.Numel);
        var lambdas = c.Tensors.Where(kv => kv.Key.EndsWith(LambdaSuffix, StringComparison.Ordinal) && kv.Value.Numel == 1)
            .Select(kv => new LambdaEntry(kv.Key[..^LambdaSuffix.Length], kv.Value.Span[0])).ToList();
        var layers = new List<GraphLayerEntry>();
        if (c.Metadata.Extra.TryGetValue(GraphSpec.MetadataKey, out var graph))
            foreach (var node in GraphSpec.FromJson(graph, c.Path).Nodes)
                layers.Add(new GraphLayerEntry(node.Name, node.Op, node.Describe(), c.Tensors
                    .Where(kv => kv.Key.StartsWith(node.Name + ".", StringComparison.Ordinal) && !BufferSuffixes.Any(s => kv.Key.EndsWith(s, StringComparison.Ordinal)))
                    .Sum(kv => (long)kv.Value.Numel)));
        return new CheckpointSummary(c.Path, c.Format, arch, source, c.Metadata.Classes ?? inferred?.Classes, c.Metadata.Levels, c.Metadata.Dataset,
            parameters, c.Tensors.Count, lambdas, c.Metadata.ToDictionary(), c.Notes) { Layers = layers };
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
