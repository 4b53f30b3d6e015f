using System.Globalization;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>
/// The trainer's files. best.safetensors: the model's state_dict (PyTorch names) with its
/// <see cref="ModelMetadata"/> (arch, classes, L, dataset, normalisation) plus epoch and accuracy.
/// last.safetensors: the same plus the SGD momentum buffers under <see cref="ModelMetadata.MomentumPrefix"/>
/// and the resume state (completed epochs, best accuracy so far, seed), and, when the run averages weights, the
/// running mean under <see cref="ModelMetadata.SwaAveragePrefix"/>. swa.safetensors: the weight average with its own
/// BatchNorm statistics, like best.safetensors. All written atomically; every key is defined in <see cref="ModelMetadata"/>.
/// </summary>
public static class TrainingCheckpoint
{
    public const string BestFile = "best.safetensors";
    public const string LastFile = "last.safetensors";
    public const string SwaFile = "swa.safetensors";

    public sealed record ResumeState(int CompletedEpochs, double BestAccuracy, int BestEpoch, int Seed)
    {
        /// <summary>The weight average so far (<see cref="TrainerOptions.SwaEpochs"/>); null when the run keeps none.</summary>
        public WeightAverage? Average { get; init; }
    }

    public static void SaveBest(string path, Module model, ModelMetadata info, int epoch, Accuracy accuracy) =>
        SaveModel(path, model, Metadata(info), epoch, accuracy);

    /// <summary>The weight average of the last <paramref name="averagedEpochs"/> epochs up to <paramref name="epoch"/>, with its test accuracy.</summary>
    public static void SaveAverage(string path, Module model, ModelMetadata info, int epoch, int averagedEpochs, Accuracy accuracy)
    {
        var meta = Metadata(info);
        meta[ModelMetadata.SwaEpochsKey] = averagedEpochs.ToString(CultureInfo.InvariantCulture);
        SaveModel(path, model, meta, epoch, accuracy);
    }

    private static void SaveModel(string path, Module model, Dictionary<string, string> meta, int epoch, Accuracy accuracy)
    {
        meta[ModelMetadata.EpochKey] = epoch.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.AccuracyKey] = accuracy.Top1.ToString("R", CultureInfo.InvariantCulture);
        meta[ModelMetadata.Top5Key] = accuracy.Top5.ToString("R", CultureInfo.InvariantCulture);
        SafeTensors.Save(path, model.StateDict(), meta);
    }

    public static void SaveLast(string path, Module model, Sgd sgd, ModelMetadata info, ResumeState state)
    {
        var tensors = new Dictionary<string, Tensor>(model.StateDict());
        foreach (var (name, buf) in sgd.MomentumBuffers) tensors[ModelMetadata.MomentumPrefix + name] = buf;
        var average = state.Average is { Count: > 0 } a ? a.ToTensors() : [];
        foreach (var (name, mean) in average) tensors[ModelMetadata.SwaAveragePrefix + name] = mean;
        var meta = Metadata(info);
        if (average.Count > 0) meta[ModelMetadata.SwaCountKey] = state.Average!.Count.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.EpochKey] = state.CompletedEpochs.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.BestAccuracyKey] = state.BestAccuracy.ToString("R", CultureInfo.InvariantCulture);
        meta[ModelMetadata.BestEpochKey] = state.BestEpoch.ToString(CultureInfo.InvariantCulture);
        meta[ModelMetadata.SeedKey] = state.Seed.ToString(CultureInfo.InvariantCulture);
        try
        {
            SafeTensors.Save(path, tensors, meta);
        }
        finally
        {
            foreach (var mean in average.Values) mean.Dispose();
        }
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
        Dictionary<string, Tensor> Under(string prefix) => contents.Tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        var modelTensors = contents.Tensors.Where(kv => !kv.Key.StartsWith(ModelMetadata.OptimiserPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var unknown = contents.Tensors.Keys.Where(k => k.StartsWith(ModelMetadata.OptimiserPrefix, StringComparison.Ordinal)
            && !k.StartsWith(ModelMetadata.MomentumPrefix, StringComparison.Ordinal) && !k.StartsWith(ModelMetadata.SwaAveragePrefix, StringComparison.Ordinal)).ToList();
        if (unknown.Count > 0) throw new InvalidDataException($"{path}: unknown training state tensors: {string.Join(", ", unknown.Take(5))}.");
        try
        {
            model.LoadStateDict(modelTensors, strict: true, sourceName: path);
            sgd.LoadMomentum(Under(ModelMetadata.MomentumPrefix), path);
            var saved = Under(ModelMetadata.SwaAveragePrefix);
            WeightAverage? average = saved.Count == 0 ? null
                : WeightAverage.Load(saved, ParseInt(meta, ModelMetadata.SwaCountKey, path), model, path);
            return new ResumeState(
                ParseInt(meta, ModelMetadata.EpochKey, path),
                double.Parse(Required(meta, ModelMetadata.BestAccuracyKey, path), CultureInfo.InvariantCulture),
                ParseInt(meta, ModelMetadata.BestEpochKey, path),
                ParseInt(meta, ModelMetadata.SeedKey, path)) { Average = average };
        }
        finally
        {
            foreach (var t in contents.Tensors.Values) t.Dispose();
        }
    }

    private static string Required(Dictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: metadata '{key}' is missing; not a SpikeEngine training checkpoint.");

    private static int ParseInt(Dictionary<string, string> meta, string key, string path) =>
        int.TryParse(Required(meta, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new InvalidDataException($"{path}: metadata '{key}' = '{meta[key]}' is not an integer.");
}
