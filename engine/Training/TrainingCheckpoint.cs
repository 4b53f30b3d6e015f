using System.Globalization;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>
/// The trainer's files. best.safetensors: the model's state_dict (PyTorch names) with its
/// <see cref="ModelMetadata"/> (arch, classes, L, dataset, normalisation) plus epoch and accuracy.
/// last.safetensors: the same plus the SGD momentum buffers under <see cref="ModelMetadata.MomentumPrefix"/>
/// and the resume state (completed epochs, best accuracy so far, seed). Both written atomically; every key
/// is defined in <see cref="ModelMetadata"/>.
/// </summary>
public static class TrainingCheckpoint
{
    public const string BestFile = "best.safetensors";
    public const string LastFile = "last.safetensors";

    public sealed record ResumeState(int CompletedEpochs, double BestAccuracy, int BestEpoch, int Seed);

    public static void SaveBest(string path, Module model, ModelMetadata info, int epoch, Accuracy accuracy)
    {
        var meta = Metadata(info);
        meta[ModelMetadata.EpochKey] = epoch.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.AccuracyKey] = accuracy.Top1.ToString("R", CultureInfo.InvariantCulture);
        meta[ModelMetadata.Top5Key] = accuracy.Top5.ToString("R", CultureInfo.InvariantCulture);
        SafeTensors.Save(path, model.StateDict(), meta);
    }

    public static void SaveLast(string path, Module model, Sgd sgd, ModelMetadata info, ResumeState state)
    {
        var tensors = new Dictionary<string, Tensor>(model.StateDict());
        foreach (var (name, buf) in sgd.MomentumBuffers) tensors[ModelMetadata.MomentumPrefix + name] = buf;
        var meta = Metadata(info);
        meta[ModelMetadata.EpochKey] = state.CompletedEpochs.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.BestAccuracyKey] = state.BestAccuracy.ToString("R", CultureInfo.InvariantCulture);
        meta[ModelMetadata.BestEpochKey] = state.BestEpoch.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.SeedKey] = state.Seed.ToString(CultureInfo.InvariantCulture);
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>The model's metadata map marked as written by the trainer; a trained model's metadata must be complete.</summary>
    private static Dictionary<string, string> Metadata(ModelMetadata info)
    {
        if (info.Arch is null || info.Classes is null || info.Levels is null || info.Dataset is null || info.Normalization is null)
            throw new ArgumentException($"Training checkpoints need arch, classes, L, dataset and normalisation in the model metadata; got {string.Join(", ", info.ToDictionary().Keys)}.");
        var meta = new Dictionary<string, string> { [ModelMetadata.FormatKey] = ModelMetadata.TrainedFormat };
        foreach (var (k, v) in info.ToDictionary()) meta[k] = v;
        return meta;
    }

    /// <summary>Loads a last checkpoint into the model and optimiser; checks it was written for the same architecture, classes and L.</summary>
    public static ResumeState LoadLast(string path, Module model, Sgd sgd, ModelMetadata expected)
    {
        var contents = SafeTensors.Load(path);
        var meta = contents.Metadata;
        var want = expected.ToDictionary();
        foreach (var key in new[] { ModelMetadata.ArchKey, ModelMetadata.ClassesKey, ModelMetadata.LevelsKey })
        {
            if (!meta.TryGetValue(key, out var got) || got != want.GetValueOrDefault(key))
                throw new InvalidDataException($"{path}: cannot resume: the checkpoint has {key} = '{got ?? "(missing)"}' but this run uses '{want.GetValueOrDefault(key)}'.");
        }
        var prefix = ModelMetadata.MomentumPrefix;
        var modelTensors = contents.Tensors.Where(kv => !kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var momentum = contents.Tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        model.LoadStateDict(modelTensors, strict: true, sourceName: path);
        sgd.LoadMomentum(momentum, path);
        foreach (var t in contents.Tensors.Values) t.Dispose();
        return new ResumeState(
            ParseInt(meta, ModelMetadata.EpochKey, path),
            double.Parse(Required(meta, ModelMetadata.BestAccuracyKey, path), CultureInfo.InvariantCulture),
            ParseInt(meta, ModelMetadata.BestEpochKey, path),
            ParseInt(meta, ModelMetadata.SeedKey, path));
    }

    private static string Required(Dictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: metadata '{key}' is missing; not a SpikeEngine training checkpoint.");

    private static int ParseInt(Dictionary<string, string> meta, string key, string path) =>
        int.TryParse(Required(meta, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new InvalidDataException($"{path}: metadata '{key}' = '{meta[key]}' is not an integer.");
}
