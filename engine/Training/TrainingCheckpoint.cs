using System.Globalization;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>What a trained model is: written as safetensors metadata beside its weights.</summary>
public sealed record ModelInfo(string Arch, int Classes, int Levels, string Dataset, Data.Normalization Normalization)
{
    public Dictionary<string, string> ToMetadata() => new()
    {
        ["format"] = "spikeengine-qcfs",
        ["arch"] = Arch,
        ["classes"] = Classes.ToString(CultureInfo.InvariantCulture),
        ["L"] = Levels.ToString(CultureInfo.InvariantCulture),
        ["dataset"] = Dataset,
        ["normalization_mean"] = string.Join(",", Normalization.Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
        ["normalization_std"] = string.Join(",", Normalization.Std.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
    };
}

/// <summary>
/// The trainer's files. best.safetensors: the model's state_dict (PyTorch names) with metadata
/// (arch, classes, L, dataset, normalisation, epoch, accuracy). last.safetensors: the same plus
/// the SGD momentum buffers under "sgd.momentum_buffer.&lt;param&gt;" and the resume state
/// (completed epochs, best accuracy so far, seed) in metadata. Both written atomically.
/// </summary>
public static class TrainingCheckpoint
{
    public const string BestFile = "best.safetensors";
    public const string LastFile = "last.safetensors";
    public const string MomentumPrefix = "sgd.momentum_buffer.";

    public sealed record ResumeState(int CompletedEpochs, double BestAccuracy, int BestEpoch, int Seed);

    public static void SaveBest(string path, Module model, ModelInfo info, int epoch, Accuracy accuracy)
    {
        var meta = info.ToMetadata();
        meta["epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        meta["accuracy"] = accuracy.Top1.ToString("R", CultureInfo.InvariantCulture);
        meta["top5"] = accuracy.Top5.ToString("R", CultureInfo.InvariantCulture);
        SafeTensors.Save(path, model.StateDict(), meta);
    }

    public static void SaveLast(string path, Module model, Sgd sgd, ModelInfo info, ResumeState state)
    {
        var tensors = new Dictionary<string, Tensor>(model.StateDict());
        foreach (var (name, buf) in sgd.MomentumBuffers) tensors[MomentumPrefix + name] = buf;
        var meta = info.ToMetadata();
        meta["epoch"] = state.CompletedEpochs.ToString(CultureInfo.InvariantCulture);
        meta["best_accuracy"] = state.BestAccuracy.ToString("R", CultureInfo.InvariantCulture);
        meta["best_epoch"] = state.BestEpoch.ToString(CultureInfo.InvariantCulture);
        meta["seed"] = state.Seed.ToString(CultureInfo.InvariantCulture);
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>Loads a last checkpoint into the model and optimiser; checks it was written for the same architecture, classes and L.</summary>
    public static ResumeState LoadLast(string path, Module model, Sgd sgd, ModelInfo expected)
    {
        var contents = SafeTensors.Load(path);
        var meta = contents.Metadata;
        foreach (var key in new[] { "arch", "classes", "L" })
        {
            var want = expected.ToMetadata()[key];
            if (!meta.TryGetValue(key, out var got) || got != want)
                throw new InvalidDataException($"{path}: cannot resume: the checkpoint has {key} = '{got ?? "(missing)"}' but this run uses '{want}'.");
        }
        var modelTensors = contents.Tensors.Where(kv => !kv.Key.StartsWith(MomentumPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var momentum = contents.Tensors.Where(kv => kv.Key.StartsWith(MomentumPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[MomentumPrefix.Length..], kv => kv.Value);
        model.LoadStateDict(modelTensors, strict: true, sourceName: path);
        sgd.LoadMomentum(momentum, path);
        foreach (var t in contents.Tensors.Values) t.Dispose();
        return new ResumeState(
            ParseInt(meta, "epoch", path),
            double.Parse(Required(meta, "best_accuracy", path), CultureInfo.InvariantCulture),
            ParseInt(meta, "best_epoch", path),
            ParseInt(meta, "seed", path));
    }

    private static string Required(Dictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: metadata '{key}' is missing; not a SpikeEngine training checkpoint.");

    private static int ParseInt(Dictionary<string, string> meta, string key, string path) =>
        int.TryParse(Required(meta, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new InvalidDataException($"{path}: metadata '{key}' = '{meta[key]}' is not an integer.");
}
