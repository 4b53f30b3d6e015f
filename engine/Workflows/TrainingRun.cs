using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using SpikeEngine.Calibration;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.IO;
using SpikeEngine.IO.Onnx;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Workflows;

/// <summary>
/// Training a QCFS ANN from scratch (or from <see cref="InitFrom"/>) on a data set, saving best and last
/// checkpoints in <see cref="SaveDir"/>. ImageNet reads <see cref="Folder"/> as the training folder and
/// <see cref="TestFolder"/> as the validation folder (each &lt;class&gt;/&lt;image&gt;); the other data sets read
/// both splits from <see cref="Folder"/> (null = <see cref="DataSplits.DefaultFolders"/>).
/// </summary>
public sealed record TrainRequest(string Arch, int Levels, string Dataset, string SaveDir)
{
    public string? Folder { get; init; }
    public string? TestFolder { get; init; }
    public bool Download { get; init; }
    /// <summary>Only the first N training images.</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Only the first N test images (the per-epoch evaluation).</summary>
    public int? TestLimit { get; init; }
    public int Epochs { get; init; } = 1;
    /// <summary>Initial λ of a new model's QCFS units (<see cref="ModelOptions.InitialThreshold"/>); a started model
    /// (<see cref="InitFrom"/>) keeps its own, so another value is refused there.</summary>
    public float InitialThreshold { get; init; } = Qcfs.InitialThreshold;
    public int BatchSize { get; init; } = 100;
    public double LearningRate { get; init; } = 0.02;
    public double WeightDecay { get; init; } = 5e-4;
    public int Seed { get; init; }
    public bool Resume { get; init; }
    /// <summary>A checkpoint whose weights start the training (same architecture), or an imported network: an .onnx file
    /// (its ReLUs get data-based thresholds first, <see cref="Calibration"/>) or a checkpoint of one (<see cref="GraphSpec"/>).</summary>
    public string? InitFrom { get; init; }
    /// <summary>Thresholds for an imported network's ReLUs, taken from the first training images (L = <see cref="Levels"/>).</summary>
    public CalibrationSettings Calibration { get; init; } = new();
    /// <summary>Input normalisation of an imported network (null: the checkpoint's, else [0, 1] pixels).</summary>
    public Normalization? Normalization { get; init; }
    public OnnxImportOptions Onnx { get; init; } = new();
    public Device Device { get; init; } = Device.Cpu;
    public Augmentation Augmentation { get; init; } = Augmentation.Full;
    /// <summary>
    /// Data-parallel training over several ranks; null: this process alone. <see cref="BatchSize"/> is then the
    /// global batch, split evenly over the ranks; each rank reads its shard of every epoch's order.
    /// </summary>
    public DataParallel? Parallel { get; init; }
    /// <summary>Linear warm-up epochs before the cosine schedule (0 = the reference's plain cosine).</summary>
    public int WarmupEpochs { get; init; }
    /// <summary>Label smoothing ε of the training loss, in [0, 1) (0 = the reference's plain cross-entropy).</summary>
    public float LabelSmoothing { get; init; }
    /// <summary>Stochastic weight averaging over the last N epochs (0 = none; <see cref="TrainerOptions.SwaEpochs"/>).</summary>
    public int SwaEpochs { get; init; }
    /// <summary>A constant learning rate for the averaged epochs (null: the cosine's).</summary>
    public double? SwaLearningRate { get; init; }
    /// <summary>The per-epoch curve the trainer keeps beside the checkpoints (<see cref="TrainingLog"/>).</summary>
    public string LogPath => Path.Combine(SaveDir, TrainingLog.FileName);
}

/// <summary>
/// How a training run ended. <see cref="TrainImagesPerSecond"/>: training images per second over the training
/// phase (data loading and augmentation included, evaluation and checkpoint writing excluded).
/// </summary>
public sealed record TrainingOutcome(
    int EpochsDone,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double BestAccuracy,
    [property: JsonPropertyName("best_checkpoint")] string BestPath,
    [property: JsonPropertyName("last_checkpoint")] string LastPath,
    bool Cancelled,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double Seconds,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double TrainImagesPerSecond)
{
    /// <summary>How many processes trained together (<see cref="TrainImagesPerSecond"/> is rank 0's share).</summary>
    public int Ranks { get; init; } = 1;
    /// <summary>The weight average's test accuracy and file (<see cref="TrainRequest.SwaEpochs"/> &gt; 0 and the run finished).</summary>
    public double? SwaAccuracy { get; init; }
    [JsonPropertyName("swa_checkpoint")] public string? SwaPath { get; init; }
    /// <summary>Epochs trained by this run: fewer than <see cref="EpochsDone"/> when it resumed a previous one.</summary>
    [JsonIgnore] public int EpochsRun { get; init; } = EpochsDone;
}

public static class TrainingRun
{
    /// <summary>
    /// Trains; a cancellation stops after the current batch and returns <see cref="TrainingOutcome.Cancelled"/> with
    /// the last good checkpoint (end of the last finished epoch) left on disk.
    /// </summary>
    public static TrainingOutcome Run(TrainRequest r, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var dataset = Datasets.Info(r.Dataset);
        int ranks = r.Parallel?.Ranks.Size ?? 1;
        if (r.BatchSize % ranks != 0)
            throw new ArgumentException($"The batch size {r.BatchSize} (the global batch) does not split evenly over {ranks} ranks; use a multiple of {ranks}.");
        var bundle = Bundle(r, dataset.Name);
        bundle = bundle with
        {
            Train = DataSplits.First(bundle.Train, r.TrainLimit),
            Test = DataSplits.First(bundle.Test, r.TestLimit),
        };
        Module model;
        ModelMetadata info;
        if (r.InitFrom is not null && r.InitialThreshold != Qcfs.InitialThreshold)
            throw new ArgumentException($"An initial threshold ({r.InitialThreshold}) applies to a new model only; {r.InitFrom} brings its own λ.");
        if (r.InitFrom is not null && ModelLoader.IsImportedGraph(r.InitFrom, r.Onnx))
            (model, info, bundle) = ImportedStart(r, dataset, bundle, cancel);
        else
        {
            model = ModelZoo.Create(r.Arch, dataset.Classes, r.Levels, new ModelOptions
            {
                Seed = r.Seed, ImageNet = dataset.Name == "ImageNet", InputChannels = dataset.Channels, InitialThreshold = r.InitialThreshold,
            });
            info = ModelMetadata.Of(r.Arch, dataset.Classes, r.Levels, dataset.Name, bundle.Normalization);
            if (r.InitialThreshold != Qcfs.InitialThreshold)
                info = info with { Extra = new Dictionary<string, string> { [ModelMetadata.InitialThresholdKey] = r.InitialThreshold.ToString("R", CultureInfo.InvariantCulture) } };
            if (r.InitFrom is not null)
            {
                var start = Checkpoints.LoadInto(model, r.InitFrom, strict: true, expectedArch: r.Arch);
                info = info with { Extra = ModelMetadata.Provenance(start.Metadata, r.InitFrom) };
            }
        }
        var trainer = new Trainer(new TrainerOptions
        {
            Epochs = r.Epochs, LearningRate = (float)r.LearningRate, WeightDecay = (float)r.WeightDecay,
            SaveDir = r.SaveDir, Resume = r.Resume, Device = r.Device, Seed = r.Seed, WarmupEpochs = r.WarmupEpochs, LabelSmoothing = r.LabelSmoothing, Parallel = r.Parallel,
            SwaEpochs = r.SwaEpochs, SwaLearningRate = r.SwaLearningRate is { } swaLr ? (float)swaLr : null,
        }, info);
        var trainLoader = r.Parallel is { } p
            ? bundle.TrainLoader(r.BatchSize / ranks, r.Seed, DataShard.For(p.Ranks, ShardKind.Samples))
            : bundle.TrainLoader(r.BatchSize, r.Seed);
        var testLoader = bundle.TestLoader(r.BatchSize, r.Parallel is { } q ? DataShard.For(q.Ranks, ShardKind.Batches) : null);
        var tracker = new EpochTracker(progress);
        try
        {
            var result = trainer.Fit(model, trainLoader, testLoader, tracker, cancel);
            int done = result.Epochs.Count == 0 ? r.Epochs : result.Epochs[^1].Epoch;
            return new TrainingOutcome(done, result.BestAccuracy, trainer.BestPath!, trainer.LastPath!, false,
                clock.Elapsed.TotalSeconds, trainer.TrainingImagesPerSecond)
            {
                Ranks = ranks, EpochsRun = result.Epochs.Count, SwaAccuracy = result.Swa?.Top1, SwaPath = result.Swa is null ? null : trainer.SwaPath,
            };
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return new TrainingOutcome(tracker.LastEpoch, tracker.Best, trainer.BestPath!, trainer.LastPath!, true,
                clock.Elapsed.TotalSeconds, trainer.TrainingImagesPerSecond) { Ranks = ranks };
        }
    }

    /// <summary>
    /// An imported network to fine-tune with QCFS (METHOD.md §9): loaded with its normalisation, its ReLUs calibrated on the
    /// first training images (evaluation preprocessing, no augmentation) with L = <see cref="TrainRequest.Levels"/>; λ is
    /// trainable from there. The checkpoints record the graph, so they load like any model (eval, snn, info).
    /// </summary>
    private static (Module, ModelMetadata, DatasetBundle) ImportedStart(TrainRequest r, DatasetInfo dataset, DatasetBundle bundle, CancellationToken cancel)
    {
        var loaded = ModelLoader.Load(new ModelRequest(r.InitFrom!)
        {
            Levels = r.Levels, Dataset = dataset.Name, Normalization = r.Normalization, Onnx = r.Onnx,
        });
        var network = (GraphNetwork)loaded.Ann;
        var normalization = loaded.Normalization!;
        if (loaded.NeedsCalibration)
        {
            var images = new DataLoader(bundle.Train, r.BatchSize, normalization, transform: bundle.TestTransform);
            ThresholdCalibration.Calibrate(network, images, r.Calibration with { Levels = r.Levels }, Device.Cpu, cancel);
        }
        var extra = new Dictionary<string, string>(loaded.Metadata.Extra) { [GraphSpec.MetadataKey] = network.Spec.ToJson() };
        var info = ModelMetadata.Of(GraphSpec.Arch, loaded.Classes, r.Levels, dataset.Name, normalization) with { Extra = extra };
        return (network, info, bundle with { Normalization = normalization });
    }

    /// <summary>Fails fast, before any loading, when the training data is not where the request says (and will not be downloaded).</summary>
    public static void CheckData(TrainRequest r)
    {
        var dataset = Datasets.Info(r.Dataset).Name;
        if (dataset == "ImageNet" || r.Download) return;
        Datasets.Require(dataset, DataSplits.Folder(new DataRequest(dataset) { Folder = r.Folder, Split = DatasetSplit.Train }), DatasetSplit.Train);
    }

    private static DatasetBundle Bundle(TrainRequest r, string dataset)
    {
        if (dataset == "ImageNet")
        {
            var train = r.Folder ?? throw new ArgumentException("ImageNet training needs its training folder (<folder>/<class>/<image>).");
            var val = r.TestFolder ?? throw new ArgumentException("ImageNet training needs its validation folder (<folder>/<class>/<image>).");
            return Datasets.ImageNetFromFolders(train, val, r.Augmentation);
        }
        var folder = DataSplits.Folder(new DataRequest(dataset) { Folder = r.Folder, Split = DatasetSplit.Train });
        return Datasets.Load(dataset, folder, r.Augmentation, r.Download);
    }

    /// <summary>Passes progress on and remembers the last finished epoch and the best accuracy (for a cancelled run).</summary>
    private sealed class EpochTracker(IProgress<TrainingProgress>? inner) : IProgress<TrainingProgress>
    {
        public int LastEpoch;
        public double Best;

        public void Report(TrainingProgress p)
        {
            if (p.Completed is { } c) { LastEpoch = c.Epoch; Best = Math.Max(Best, c.Test.Top1); }
            inner?.Report(p);
        }
    }
}
