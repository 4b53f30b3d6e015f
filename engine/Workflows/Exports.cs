using SpikeEngine.Data;
using SpikeEngine.IO;

namespace SpikeEngine.Workflows;

/// <summary>The formats a loaded model can be written in.</summary>
public enum ExportFormat
{
    /// <summary>A torch.save state_dict (.pth) with the reference's parameter names (engine/METHOD.md §8).</summary>
    PyTorch,
    /// <summary>safetensors with the model's metadata (architecture, classes, L, data set, normalisation).</summary>
    SafeTensors,
}

/// <summary>What <see cref="Exports.Write"/> wrote.</summary>
public sealed record ExportResult(string Path, ExportFormat Format, int Tensors, long Parameters, long Bytes);

/// <summary>Writing a loaded model out again: as a PyTorch .pth (the reference's names) or as safetensors with its metadata.</summary>
public static class Exports
{
    /// <summary>The format names a user gives (--format).</summary>
    public static readonly IReadOnlyDictionary<string, ExportFormat> FormatNames = new Dictionary<string, ExportFormat>(StringComparer.OrdinalIgnoreCase)
    {
        ["pth"] = ExportFormat.PyTorch,
        ["safetensors"] = ExportFormat.SafeTensors,
    };

    /// <summary>"pth" or "safetensors" (case-insensitive); anything else is an error that lists both.</summary>
    public static ExportFormat ParseFormat(string name) =>
        FormatNames.TryGetValue(name.Trim(), out var format) ? format
            : throw new ArgumentException($"Unknown export format '{name}': use pth (a PyTorch state_dict with the reference's names) or safetensors (with the model's metadata).");

    /// <summary>The format a file name asks for by its extension (.pth/.pt, .safetensors), else null.</summary>
    public static ExportFormat? FormatOfPath(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".pth" or ".pt" => ExportFormat.PyTorch,
        ".safetensors" => ExportFormat.SafeTensors,
        _ => null,
    };

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> atomically (a crash leaves the old file or none, never a
    /// half-written one). A folder path, or one the process cannot write, is an <see cref="IOException"/> naming it.
    /// </summary>
    public static ExportResult Write(LoadedModel model, ExportFormat format, string path, IReadOnlyDictionary<string, string>? notes = null)
    {
        if (notes is { Count: > 0 } && format != ExportFormat.SafeTensors)
            throw new ArgumentException("Metadata notes need the safetensors format: a .pth state_dict has no place for them.");
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Export needs an output file name.");
        if (Directory.Exists(path)) throw new IOException($"cannot write {path}: it is a folder; give a file name (e.g. {Path.Combine(path, "model" + (format == ExportFormat.PyTorch ? ".pth" : ".safetensors"))}).");
        try
        {
            if (format == ExportFormat.PyTorch) ToPyTorch(model, path);
            else ToSafeTensors(model, path, notes);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"cannot write {path}: {e.Message}", e);
        }
        var state = model.Ann.StateDict();
        return new ExportResult(path, format, state.Count, model.Parameters, new FileInfo(path).Length);
    }

    /// <summary>A .pth that torch.load reads into the reference model (atomic).</summary>
    public static void ToPyTorch(LoadedModel model, string path) => Checkpoints.ExportPyTorch(path, model.Ann);

    /// <summary>
    /// A safetensors file with the model's metadata (arch, classes, L, data set, normalisation; a model loaded from a
    /// .pth gets its data set's normalisation when the data set is known), so it loads without options (atomic).
    /// </summary>
    public static void ToSafeTensors(LoadedModel model, string path, IReadOnlyDictionary<string, string>? notes = null) =>
        Checkpoints.SaveSafeTensors(path, model.Ann, MetadataOf(model, notes));

    /// <summary>The metadata keys that describe the model itself; they come from the loaded model, never from a note.</summary>
    private static readonly string[] ModelKeys =
        [ModelMetadata.ArchKey, ModelMetadata.ClassesKey, ModelMetadata.LevelsKey, ModelMetadata.DatasetKey, ModelMetadata.MeanKey, ModelMetadata.StdKey];

    /// <summary>
    /// KEY=VALUE notes (e.g. how the model was trained) for the safetensors metadata. Keys are letters, digits, '_', '-'
    /// and '.'; a key may appear once and may not be one of the model's own keys (arch, classes, L, data set,
    /// normalisation: those follow the model, set them with --net_arch, --L, --dataset).
    /// </summary>
    public static Dictionary<string, string> ParseNotes(IEnumerable<string> notes)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var note in notes)
        {
            int eq = note.IndexOf('=');
            string key = eq < 0 ? "" : note[..eq].Trim();
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                throw new ArgumentException($"'{note}' is not KEY=VALUE with a key of letters, digits, '_', '-' or '.'.");
            if (ModelKeys.Contains(key))
                throw new ArgumentException($"'{key}' describes the model and follows it (set it with --net_arch, --L or --dataset); pick another key for a note.");
            if (!d.TryAdd(key, note[(eq + 1)..]))
                throw new ArgumentException($"'{key}' is given twice.");
        }
        return d;
    }

    private static ModelMetadata MetadataOf(LoadedModel model, IReadOnlyDictionary<string, string>? notes)
    {
        var meta = model.Metadata;
        if (notes is { Count: > 0 })
        {
            var extra = new Dictionary<string, string>(meta.Extra);
            foreach (var (k, v) in notes) extra[k] = v;
            meta = meta with { Extra = extra };
        }
        if (meta.Normalization is null && meta.Dataset is { } dataset && Datasets.Known.Any(d => d.Name == dataset))
            meta = meta.WithNormalization(Datasets.NormalizationOf(dataset));
        return meta;
    }
}
