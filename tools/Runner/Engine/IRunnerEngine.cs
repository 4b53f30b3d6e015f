using SpikeEngine.Runner.Cli;
using SpikeEngine.Tensors;

namespace SpikeEngine.Runner.Engine;

/// <summary>Which data the user asked for: the data set and where its files are (already checked to exist unless downloading).</summary>
public sealed record DataRequest(DatasetKind Dataset, string Folder, bool Download, int? Limit, int Seed);

/// <summary>A loaded evaluation split (the test set, possibly cut to --limit images).</summary>
public interface IDataSplit
{
    string Description { get; }
    int Count { get; }
}

/// <summary>What a model is: architecture, classes, QCFS level L, and the data set it is for.</summary>
public sealed record ModelSpec(string Arch, int Classes, int L, string Dataset);

public interface IModel
{
    ModelSpec Spec { get; }
    long Parameters { get; }
    string Source { get; }
}

/// <summary>A training run; SaveDir is this model's own folder (--savedir/DATASET-ARCH-LL) for best and last checkpoints.</summary>
public sealed record TrainRequest(
    ModelSpec Spec, DataRequest Data, string TestFolder, int Epochs, int BatchSize, double LearningRate, double WeightDecay,
    int Seed, string SaveDir, string ModelName, bool Resume, string? InitFrom, Device Device);

public sealed record TrainProgress(
    int Epoch, int Epochs, int Batch, int Batches, double Loss, double ImagesPerSecond, TimeSpan Remaining, double? TestAccuracy);

/// <summary>Where the trainer left its checkpoints; Cancelled = interrupted (the last good checkpoint is kept).</summary>
public sealed record TrainOutcome(string BestPath, string LastPath, double BestAccuracy, int EpochsDone, bool Cancelled);

/// <summary>An SNN run: ρ (0 = plain conversion), T, COS iterations k, batch size.</summary>
public sealed record SnnRequest(int PresimLen, int SimLen, int Iterations, int BatchSize);

/// <summary>Accuracy after t = 1..T steps (fractions) over Samples images; Seconds = wall time of the simulation.</summary>
public sealed record SnnOutcome(SnnRequest Request, double[] AccuracyPerStep, int Samples, double Seconds);

/// <summary>The ANN accuracy and one outcome per requested SNN run, on the same images.</summary>
public sealed record SnnEvaluationOutcome(double AnnAccuracy, IReadOnlyList<SnnOutcome> Runs);

/// <summary>Offset-spike ψ histogram bins: ≤ −2, −1, 0, +1, ≥ +2.</summary>
public sealed record LayerDiagnostics(
    string Layer, long Neurons, double FiringRatePlain, double FiringRateCos,
    long[] OffsetHistogramPlain, long[] OffsetHistogramCos, double ShareShiftedUp, double ShareShiftedDown,
    double SpikesPerImagePerStep);

public sealed record DiagnosticsOutcome(
    IReadOnlyList<LayerDiagnostics> Layers, double AnnMacsPerImage, double SnnSynOpsPerImage, double SnnDenseMacsPerImage,
    double AnnEnergyJoulesPerImage, double SnnEnergyJoulesPerImage, string EnergyConstants, int Samples);

public sealed record LambdaEntry(string Layer, float Lambda);

public sealed record CheckpointInfo(
    string Path, string Format, string? Arch, int? Classes, int? L, string? Dataset, long Parameters, int Entries,
    IReadOnlyList<LambdaEntry> Lambdas, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<string> Notes);

/// <summary>
/// Everything the Runner asks of the engine. The CLI (parsing, validation, output, files) is written
/// against this seam; <see cref="SpikeEngineBackend"/> is the real one, tests may substitute their own.
/// </summary>
public interface IRunnerEngine
{
    /// <summary>Selects the device and CPU threads; throws <see cref="CliError"/> when the device cannot be used.</summary>
    void UseDevice(Device device, int? threads);

    IDataSplit OpenTest(DataRequest request);

    /// <summary>Loads a checkpoint; <paramref name="expected"/> carries what the options say (null fields = take the checkpoint's).</summary>
    IModel Load(string checkpointPath, ModelSpec expected, bool archGiven, Device device);

    TrainOutcome Train(TrainRequest request, Action<TrainProgress> progress, CancellationToken cancel);

    double EvaluateAnn(IModel model, IDataSplit data, int batchSize, CancellationToken cancel);

    /// <summary>ANN accuracy and every run in one pass over the data (all runs share the batch size of the first).</summary>
    SnnEvaluationOutcome EvaluateSnn(IModel model, IDataSplit data, IReadOnlyList<SnnRequest> runs, CancellationToken cancel);

    DiagnosticsOutcome Diagnose(IModel model, IDataSplit data, SnnRequest request, CancellationToken cancel);

    CheckpointInfo Summarize(string checkpointPath);
}
