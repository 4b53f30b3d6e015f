using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SpikeEngine.Nn.Graph;

/// <summary>
/// One step of a <see cref="GraphSpec"/>: <see cref="Op"/> (one of <see cref="GraphOps"/>) applied to the named
/// values <see cref="Inputs"/>, producing the value <see cref="Output"/>. <see cref="Settings"/> holds the op's numbers
/// (conv: in, out, kernel, stride, padding, bias, batchnorm, eps; linear: in, out, bias; …; see <see cref="GraphNetwork"/>).
/// </summary>
public sealed record GraphNode(string Name, string Op, IReadOnlyList<string> Inputs, string Output, IReadOnlyDictionary<string, double> Settings)
{
    public double Get(string key) => Settings.TryGetValue(key, out var v) ? v
        : throw new InvalidDataException($"graph node '{Name}' ({Op}) lacks the setting '{key}'.");

    public int GetInt(string key)
    {
        double v = Get(key);
        return v == Math.Floor(v) && v is >= int.MinValue and <= int.MaxValue ? (int)v
            : throw new InvalidDataException($"graph node '{Name}' ({Op}): setting '{key}' must be an integer, found {v.ToString(CultureInfo.InvariantCulture)}.");
    }

    public double GetOr(string key, double fallback) => Settings.TryGetValue(key, out var v) ? v : fallback;

    /// <summary>The layer in words, e.g. "Conv 3→16, 3×3, stride 1, padding 1, + BatchNorm" (what `info` lists).</summary>
    public string Describe()
    {
        string F(string key) => GetOr(key, double.NaN).ToString("G6", CultureInfo.InvariantCulture);
        return Op switch
        {
            GraphOps.Conv => $"Conv {F("in")}→{F("out")}, {F("kernel")}×{F("kernel")}, stride {F("stride")}, padding {F("padding")}" +
                             (GetOr("bias", 0) != 0 ? ", bias" : "") + (GetOr("batchnorm", 0) != 0 ? ", + BatchNorm" : ""),
            GraphOps.BatchNorm => $"BatchNorm {F("channels")}",
            GraphOps.Relu => Settings.ContainsKey("max") ? $"Clip(0, {F("max")})" : "ReLU",
            GraphOps.Qcfs => $"QCFS L = {F("levels")}" + (Settings.ContainsKey("max") ? $" (was Clip(0, {F("max")}))" : " (was ReLU)"),
            GraphOps.AvgPool => $"AvgPool {F("kernel")}×{F("kernel")}, stride {F("stride")}, padding {F("padding")}",
            GraphOps.GlobalAvgPool => "GlobalAvgPool",
            GraphOps.Linear => $"Linear {F("in")}→{F("out")}" + (GetOr("bias", 0) != 0 ? ", bias" : ""),
            GraphOps.Flatten => "Flatten",
            GraphOps.Add => "Add (residual)",
            GraphOps.Concat => $"Concat ({Inputs.Count} inputs, channels)",
            _ => Op,
        };
    }
}

/// <summary>The layer kinds a <see cref="GraphNetwork"/> runs.</summary>
public static class GraphOps
{
    public const string Conv = "conv", BatchNorm = "batchnorm", Relu = "relu", Qcfs = "qcfs", AvgPool = "avgpool",
        GlobalAvgPool = "globalavgpool", Linear = "linear", Flatten = "flatten", Add = "add", Concat = "concat";

    public static readonly IReadOnlyList<string> All = [Conv, BatchNorm, Relu, Qcfs, AvgPool, GlobalAvgPool, Linear, Flatten, Add, Concat];
}

/// <summary>
/// A network as a directed acyclic graph of layers (an imported ONNX model, its calibrated QCFS form, or a fine-tuned
/// one): one image input [N, C, H, W], the nodes in an order where every input is computed before it is used, one
/// output. Stored as JSON in a checkpoint's metadata (<see cref="MetadataKey"/>), so a fine-tuned imported network
/// loads again without its ONNX file.
/// </summary>
public sealed record GraphSpec(string Input, int[] InputShape, string Output, IReadOnlyList<GraphNode> Nodes)
{
    /// <summary>The checkpoint metadata key holding <see cref="ToJson"/>.</summary>
    public const string MetadataKey = "graph";
    /// <summary>The architecture name checkpoints of imported networks record.</summary>
    public const string Arch = "imported";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses and checks a stored graph; <paramref name="source"/> (a file name) is named in errors.</summary>
    public static GraphSpec FromJson(string json, string source)
    {
        GraphSpec? spec;
        try { spec = JsonSerializer.Deserialize<GraphSpec>(json, Json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: metadata '{MetadataKey}' is not a valid graph description: {e.Message}"); }
        if (spec is null || spec.Nodes is null || spec.Input is null || spec.Output is null || spec.InputShape is not { Length: 3 })
            throw new InvalidDataException($"{source}: metadata '{MetadataKey}' lacks the input, its [C, H, W] shape, the output or the nodes.");
        spec.Check(source);
        return spec;
    }

    /// <summary>Every op known, every input computed before use, output names unique, the output produced.</summary>
    public void Check(string source)
    {
        var known = new HashSet<string> { Input };
        var names = new HashSet<string>();
        foreach (var node in Nodes)
        {
            if (!GraphOps.All.Contains(node.Op))
                throw new InvalidDataException($"{source}: graph node '{node.Name}' has the unknown op '{node.Op}' (known: {string.Join(", ", GraphOps.All)}).");
            if (!names.Add(node.Name)) throw new InvalidDataException($"{source}: the graph names two nodes '{node.Name}'.");
            foreach (var input in node.Inputs)
                if (!known.Contains(input))
                    throw new InvalidDataException($"{source}: graph node '{node.Name}' reads '{input}' before any node computes it.");
            if (!known.Add(node.Output)) throw new InvalidDataException($"{source}: the graph computes '{node.Output}' twice.");
        }
        if (!known.Contains(Output)) throw new InvalidDataException($"{source}: no graph node computes the output '{Output}'.");
    }

    /// <summary>The same graph with one node changed (e.g. relu → qcfs after calibration).</summary>
    public GraphSpec Replace(GraphNode node) => this with { Nodes = Nodes.Select(n => n.Name == node.Name ? node : n).ToList() };
}
