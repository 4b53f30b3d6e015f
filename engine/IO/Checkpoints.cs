using SpikeEngine.IO.Onnx;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Tensors;

namespace SpikeEngine.IO;

public enum CheckpointFormat { PyTorch, SafeTensors, Onnx }

/// <summary>A loaded checkpoint: float32 host tensors by state_dict name, what the file says about the model, and
/// notes about conversions made while reading (float16 → float32, stripped 'module.' prefixes, …).</summary>
public sealed record Checkpoint(string Path, CheckpointFormat Format, Dictionary<string, Tensor> Tensors, ModelMetadata Metadata, IReadOnlyList<string> Notes)
{
    /// <summary>The architecture named in the metadata, else the one recognised from the keys (null if neither).</summary>
    public InferredArchitecture? Architecture
    {
        get
        {
            var inferred = ArchitectureInference.Infer(Tensors);
            if (Metadata.Arch is { } arch) return new InferredArchitecture(arch, Metadata.Classes ?? inferred?.Classes, inferred?.Detail);
            return inferred;
        }
    }
}

/// <summary>Loading and saving model checkpoints: PyTorch .pth (import/export) and safetensors (our own format).</summary>
public static class Checkpoints
{
    public static readonly string[] Extensions = [".pth", ".pt", ".safetensors", ".onnx"];

    /// <summary>Metadata an imported ONNX file reports: its opset and producer.</summary>
    public const string OnnxOpsetKey = "onnx_opset", OnnxProducerKey = "onnx_producer";

    /// <summary>The file for <paramref name="path"/>, which may omit its extension (as the reference's
    /// --load_model_name omits .pth).</summary>
    public static string ResolvePath(string path)
    {
        if (File.Exists(path)) return path;
        foreach (var ext in Extensions)
            if (File.Exists(path + ext)) return path + ext;
        throw new FileNotFoundException($"Checkpoint not found: {path} (also tried {string.Join(", ", Extensions.Select(e => Path.GetFileName(path) + e))}).", path);
    }

    /// <summary>The format of a file, from its first bytes.</summary>
    public static CheckpointFormat DetectFormat(string path)
    {
        // ONNX (protobuf) has no magic bytes: the extension says it.
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return CheckpointFormat.Onnx;
        Span<byte> head = stackalloc byte[16];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (PyTorchCheckpoint.LooksLikeZip(head)) return CheckpointFormat.PyTorch;
        // safetensors: 8-byte header length, then a JSON object
        if (n >= 9 && head[8] == (byte)'{') return CheckpointFormat.SafeTensors;
        // anything else: the .pth reader explains what it is (legacy pickle, tar, unknown)
        return CheckpointFormat.PyTorch;
    }

    /// <summary>Reads a checkpoint; an .onnx file is imported (<paramref name="onnx"/>: import choices) and carries its graph in the metadata.</summary>
    public static Checkpoint Load(string path, OnnxImportOptions? onnx = null)
    {
        path = ResolvePath(path);
        switch (DetectFormat(path))
        {
            case CheckpointFormat.Onnx:
            {
                var g = OnnxImporter.Import(path, onnx);
                var meta = new ModelMetadata
                {
                    Arch = GraphSpec.Arch, Classes = g.Classes,
                    Extra = new Dictionary<string, string>
                    {
                        [GraphSpec.MetadataKey] = g.Spec.ToJson(),
                        [OnnxOpsetKey] = g.Opset.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        [OnnxProducerKey] = g.Producer,
                    },
                };
                return new Checkpoint(path, CheckpointFormat.Onnx, g.Weights, meta, g.Notes);
            }
            case CheckpointFormat.SafeTensors:
            {
                var c = SafeTensors.Load(path);
                foreach (var (key, dtype) in c.Dtypes)
                    if (dtype is "I64" or "I32" && !SafeTensors.IsIntegerKey(key))
                        throw new InvalidDataException($"{path}: tensor '{key}' is {dtype}; weights must be floating point (integer tensors are accepted only for '*.{SafeTensors.IntegerSuffix}').");
                var notes = new List<string>();
                var optimiser = c.Tensors.Keys.Where(k => k.StartsWith(ModelMetadata.OptimiserPrefix, StringComparison.Ordinal)).ToList();
                foreach (var key in optimiser) c.Tensors.Remove(key);
                if (optimiser.Count > 0) notes.Add($"ignored {optimiser.Count} optimiser tensors ({ModelMetadata.OptimiserPrefix}*)");
                notes.AddRange(c.Dtypes.Where(kv => kv.Value is "F16" or "BF16" or "F64").GroupBy(kv => kv.Value)
                    .Select(g => $"converted {g.Count()} {g.Key} tensor{(g.Count() == 1 ? "" : "s")} to F32"));
                return new Checkpoint(path, CheckpointFormat.SafeTensors, c.Tensors, ModelMetadata.FromDictionary(c.Metadata, path), notes);
            }
            default:
            {
                var c = PyTorchCheckpoint.Load(path);
                return new Checkpoint(path, CheckpointFormat.PyTorch, c.Tensors, new ModelMetadata(), c.Notes);
            }
        }
    }

    /// <summary>
    /// Loads a checkpoint into <paramref name="module"/>. First checks that the file's architecture (from its
    /// metadata or its keys) is the model's (<paramref name="expectedArch"/>, e.g. --net_arch, or recognised from the
    /// model's own keys); then loads by name with one combined error for missing/unexpected keys and shape
    /// mismatches (<paramref name="strict"/> = false tolerates missing/unexpected keys).
    /// </summary>
    public static Checkpoint LoadInto(Module module, string path, bool strict = true, string? expectedArch = null)
    {
        var checkpoint = Load(path);
        var modelArch = expectedArch ?? ArchitectureInference.Infer(module.StateDict())?.Arch;
        if (modelArch is not null) CheckArchitecture(checkpoint, modelArch);
        module.LoadStateDict(checkpoint.Tensors, strict, checkpoint.Path);
        return checkpoint;
    }

    /// <summary>Throws when the checkpoint's architecture is known and is not <paramref name="expectedArch"/>.</summary>
    public static void CheckArchitecture(Checkpoint checkpoint, string expectedArch)
    {
        var found = checkpoint.Architecture;
        if (found is null || string.Equals(found.Arch, expectedArch, StringComparison.OrdinalIgnoreCase)) return;
        var how = checkpoint.Metadata.Arch is not null ? "its metadata says" : "its keys look like";
        throw new InvalidDataException($"{checkpoint.Path}: {how} {found} but the model (--net_arch) is {expectedArch}. Pick the matching architecture or another checkpoint.");
    }

    /// <summary>Saves the module's state_dict as safetensors with the model metadata (atomic).</summary>
    public static void SaveSafeTensors(string path, Module module, ModelMetadata metadata)
        => SafeTensors.Save(path, HostStateDict(module), metadata.ToDictionary());

    /// <summary>Exports the module's state_dict as a .pth that torch.load reads, with the reference names (atomic).</summary>
    public static void ExportPyTorch(string path, Module module) => PyTorchCheckpoint.Save(path, HostStateDict(module));

    private static Dictionary<string, Tensor> HostStateDict(Module module) => module.StateDict();
}
