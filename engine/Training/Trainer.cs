using System.Diagnostics;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

public sealed record TrainerOptions
{
    public int Epochs { get; init; } = 1;
    public float LearningRate { get; init; } = 0.1f;
    public float Momentum { get; init; } = 0.9f;
    public float WeightDecay { get; init; } = 5e-4f;
    /// <summary>Folder for best.safetensors and last.safetensors; null keeps nothing on disk.</summary>
    public string? SaveDir { get; init; }
    /// <summary>Continue from SaveDir/last.safetensors when it exists.</summary>
    public bool Resume { get; init; }
    public Device Device { get; init; } = Device.Cpu;
    /// <summary>The seed of the data order (recorded in checkpoints; the loaders carry their own).</summary>
    public int Seed { get; init; }
    /// <summary>Report progress every this many batches (and at the last batch of an epoch).</summary>
    public int ReportEvery { get; init; } = 20;
    /// <summary>Data-parallel training over several ranks (the loaders must be sharded); null: this process alone.</summary>
    public DataParallel? Parallel { get; init; }
    /// <summary>Linear per-batch warm-up epochs before the cosine (0 = the reference schedule); see <see cref="CosineSchedule"/>.</summary>
    public int WarmupEpochs { get; init; }
    /// <summary>Label smoothing ε of the training loss: target (1 − ε)·onehot + ε/classes (0 = plain cross-entropy; the test loss is always plain).</summary>
    public float LabelSmoothing { get; init; }
    /// <summary>
    /// Stochastic weight averaging over the last this many epochs (0 = none): the parameters at the ends of epochs
    /// Epochs − N + 1 … Epochs are averaged, BatchNorm's statistics measured again for the mean on the training images
    /// (<see cref="WeightAverage"/>), and the result evaluated and written to SaveDir/swa.safetensors.
    /// </summary>
    public int SwaEpochs { get; init; }
    /// <summary>A constant learning rate for the <see cref="SwaEpochs"/> averaged epochs (null: they follow the cosine).</summary>
    public float? SwaLearningRate { get; init; }
}

/// <summary>One epoch's outcome.</summary>
public sealed record EpochResult(int Epoch, float LearningRate, double TrainLoss, double TrainAccuracy, Accuracy Test, bool IsBest, TimeSpan Duration);

/// <summary>
/// A progress report: during an epoch (Completed is null) or at its end. After the last epoch, a run that averages
/// weights reports its pass over the training images for the BatchNorm statistics with <see cref="Stage"/> set
/// (Loss is NaN there: nothing is trained).
/// </summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, float Loss,
    double ImagesPerSecond, TimeSpan Remaining, EpochResult? Completed = null)
{
    /// <summary>What runs after the epochs (null while training).</summary>
    public string? Stage { get; init; }
}

public sealed record TrainingResult(double BestAccuracy, int BestEpoch, IReadOnlyList<EpochResult> Epochs)
{
    /// <summary>The test accuracy of the weight average (<see cref="TrainerOptions.SwaEpochs"/> &gt; 0), null without one.</summary>
    public Accuracy? Swa { get; init; }
}

/// <summary>
/// Trains a QCFS model with SGD and a per-epoch cosine schedule, evaluates top-1/top-5 on the test
/// loader after every epoch, keeps the best model and a resumable last checkpoint (written only at
/// epoch ends, so cancelling mid-epoch keeps the last good one), and stops with a clear error on a
/// non-finite loss. With <see cref="TrainerOptions.SwaEpochs"/> it also averages the weights of the last epochs (the
/// average is part of the resumable checkpoint) and ends with the model holding that average.
/// </summary>
public sealed class Trainer(TrainerOptions options, ModelMetadata info)
{
    public TrainerOptions Options { get; } = options;
    /// <summary>What the model is (arch, classes, L, dataset, normalisation): written into every checkpoint.</summary>
    public ModelMetadata Info { get; } = info;

    /// <summary>Training images processed so far by <see cref="Fit"/> (partial epochs included).</summary>
    public long TrainingImages { get; private set; }
    /// <summary>Wall time of the training phase so far: waiting for batches (loading, augmentation) and the steps; evaluation and checkpoints excluded.</summary>
    public double TrainingSeconds { get; private set; }
    /// <summary>Training throughput over the training phase (<see cref="TrainingImages"/> / <see cref="TrainingSeconds"/>).</summary>
    public double TrainingImagesPerSecond => TrainingSeconds > 0 ? TrainingImages / TrainingSeconds : 0;

    public string? BestPath => Options.SaveDir is null ? null : Path.Combine(Options.SaveDir, TrainingCheckpoint.BestFile);
    public string? LastPath => Options.SaveDir is null ? null : Path.Combine(Options.SaveDir, TrainingCheckpoint.LastFile);
    /// <summary>The per-epoch curve (<see cref="TrainingLog"/>), beside the checkpoints.</summary>
    public string? LogPath => Options.SaveDir is null ? null : Path.Combine(Options.SaveDir, TrainingLog.FileName);
    /// <summary>The weight average with its own BatchNorm statistics (<see cref="TrainerOptions.SwaEpochs"/> &gt; 0).</summary>
    public string? SwaPath => Options.SaveDir is null || Options.SwaEpochs == 0 ? null : Path.Combine(Options.SaveDir, TrainingCheckpoint.SwaFile);

    public TrainingResult Fit(Module model, DataLoader train, DataLoader test,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (Options.Epochs < 1) throw new ArgumentException($"Training needs at least one epoch (got {Options.Epochs}).");
        CheckWeightAveraging();
        int swaStart = Options.Epochs - Options.SwaEpochs; // the first averaged epoch (0-based)
        DevicePlacement.Place(model, Options.Device);
        model.Train();
        var sgd = new Sgd(model.NamedParameters(), Options.LearningRate, Options.Momentum, Options.WeightDecay);
        var schedule = new CosineSchedule(Options.LearningRate, Options.Epochs, warmupEpochs: Options.WarmupEpochs);
        int start = 0, bestEpoch = 0;
        double best = -1;
        WeightAverage? average = Options.SwaEpochs > 0 ? new WeightAverage() : null;
        if (Options.Resume && LastPath is not null && File.Exists(LastPath))
        {
            var state = TrainingCheckpoint.LoadLast(LastPath, model, sgd, Info);
            (start, best, bestEpoch) = (state.CompletedEpochs, state.BestAccuracy, state.BestEpoch);
            if (average is not null) average = ResumedAverage(state, start, swaStart);
        }
        var parallel = Options.Parallel;
        parallel?.Start(model, start);
        bool writes = parallel?.IsRoot ?? true; // only rank 0 writes checkpoints and the log
        // A fresh run starts a fresh curve; a resumed one keeps the rows of the epochs it continues from.
        List<TrainingLog.Row> log = LogPath is null ? [] : TrainingLog.Read(LogPath).Where(row => row.Epoch <= start).ToList();
        var history = new List<EpochResult>();
        int batches = train.BatchCount;
        long totalBatches = (long)(Options.Epochs - start) * batches, doneBatches = 0;
        var clock = Stopwatch.StartNew();
        for (int epoch = start; epoch < Options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            float lr = epoch >= swaStart && Options.SwaLearningRate is { } swaLr ? swaLr : schedule.LearningRate(epoch, 0, batches);
            sgd.LearningRate = lr;
            double lossSum = 0;
            long correct = 0, seen = 0;
            int i = 0;
            var windowClock = Stopwatch.StartNew();
            int windowImages = 0;
            var phaseClock = Stopwatch.StartNew();
            foreach (var batch in DevicePlacement.Batches(train, Options.Device, epoch, cancel))
            {
                using (batch)
                {
                    cancel.ThrowIfCancellationRequested();
                    TrainingStep.Result r;
                    if (epoch < Options.WarmupEpochs) sgd.LearningRate = lr = schedule.LearningRate(epoch, i, batches);
                    try
                    {
                        r = TrainingStep.Run(model, sgd, batch.Images, batch.Labels, parallel, Options.LabelSmoothing);
                    }
                    catch (NonFiniteLossException e)
                    {
                        throw new NonFiniteLossException(e.Loss, $"epoch {epoch + 1}, batch {i + 1}/{batches}");
                    }
                    TrainingImages += batch.Size;
                    TrainingSeconds += phaseClock.Elapsed.TotalSeconds;
                    lossSum += r.Loss * batch.Size;
                    correct += r.Correct;
                    seen += batch.Size;
                    windowImages += batch.Size;
                    i++;
                    doneBatches++;
                    if (progress is not null && (i % Options.ReportEvery == 0 || i == batches))
                    {
                        double ips = windowImages / Math.Max(1e-9, windowClock.Elapsed.TotalSeconds);
                        var remaining = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / doneBatches * (totalBatches - doneBatches));
                        progress.Report(new TrainingProgress(epoch + 1, Options.Epochs, i, batches, r.Loss, ips, remaining));
                        windowClock.Restart();
                        windowImages = 0;
                    }
                }
                phaseClock.Restart(); // the next batch's wait and step; the time between batches is the loader's
            }
            cancel.ThrowIfCancellationRequested();
            if (parallel is not null)
            {
                (lossSum, correct, seen) = parallel.SumOverRanks(lossSum, correct, seen);
                parallel.AlignBuffers(model);
            }
            var acc = Metrics.Evaluate(model, test, Options.Device, cancel, ranks: parallel?.Ranks);
            bool isBest = acc.Top1 > best;
            if (isBest)
            {
                best = acc.Top1;
                bestEpoch = epoch + 1;
                if (BestPath is not null && writes) TrainingCheckpoint.SaveBest(BestPath, model, Info, epoch + 1, acc);
            }
            if (average is not null && epoch >= swaStart) average.Add(model);
            if (LastPath is not null && writes)
                TrainingCheckpoint.SaveLast(LastPath, model, sgd, Info, new TrainingCheckpoint.ResumeState(epoch + 1, best, bestEpoch, Options.Seed) { Average = average });
            var result = new EpochResult(epoch + 1, lr, lossSum / seen, (double)correct / seen, acc, isBest, epochClock.Elapsed);
            history.Add(result);
            if (LogPath is not null && writes)
            {
                log.Add(TrainingLog.Of(result));
                TrainingLog.Write(LogPath, log);
            }
            progress?.Report(new TrainingProgress(epoch + 1, Options.Epochs, batches, batches, (float)(lossSum / seen), 0,
                TimeSpan.FromSeconds(doneBatches == 0 ? 0 : clock.Elapsed.TotalSeconds / doneBatches * (totalBatches - doneBatches)), result));
        }
        Accuracy? swa = null;
        if (average is not null)
        {
            // The mean's own BatchNorm statistics, measured on a fresh order of the training images (the loader's order
            // for the epoch after the last), so a rerun of a finished run writes the same file.
            average.CopyTo(model);
            var passClock = Stopwatch.StartNew();
            long passImages = 0;
            WeightAverage.RecomputeBatchNorm(model, train, Options.Device, Options.Epochs, parallel, cancel, (done, all, images) =>
            {
                passImages += images;
                if (progress is null || (done % Options.ReportEvery != 0 && done != all)) return;
                double seconds = passClock.Elapsed.TotalSeconds;
                progress.Report(new TrainingProgress(Options.Epochs, Options.Epochs, done, all, float.NaN, passImages / Math.Max(1e-9, seconds),
                    TimeSpan.FromSeconds(seconds / done * (all - done))) { Stage = "weight average: BatchNorm statistics" });
            });
            swa = Metrics.Evaluate(model, test, Options.Device, cancel, ranks: parallel?.Ranks);
            if (SwaPath is not null && writes) TrainingCheckpoint.SaveAverage(SwaPath, model, Info, Options.Epochs, Options.SwaEpochs, swa);
        }
        return new TrainingResult(best, bestEpoch, history) { Swa = swa };
    }

    private void CheckWeightAveraging()
    {
        int room = Options.Epochs - Options.WarmupEpochs;
        if (Options.SwaEpochs < 0 || Options.SwaEpochs > room)
            throw new ArgumentException($"Weight averaging over {Options.SwaEpochs} epochs: must be between 0 and {room} (the {Options.Epochs} epochs after {Options.WarmupEpochs} warm-up epochs).");
        if (Options.SwaLearningRate is { } lr && Options.SwaEpochs == 0)
            throw new ArgumentException($"A weight-averaging learning rate ({lr}) needs weight-averaging epochs (SwaEpochs > 0).");
        if (Options.SwaLearningRate is { } rate && !(rate > 0 && float.IsFinite(rate)))
            throw new ArgumentException($"The weight-averaging learning rate must be positive, got {rate}.");
    }

    /// <summary>The average a resumed run continues: the checkpoint's when it already averaged epochs of this run's window.</summary>
    private WeightAverage ResumedAverage(TrainingCheckpoint.ResumeState state, int completed, int swaStart)
    {
        int expected = Math.Max(0, completed - swaStart);
        int saved = state.Average?.Count ?? 0;
        if (expected == 0) return new WeightAverage();
        if (saved != expected)
            throw new InvalidDataException($"{LastPath}: cannot resume the weight averaging over the last {Options.SwaEpochs} of {Options.Epochs} epochs: " +
                                           $"epochs {swaStart + 1}–{completed} should be in the average, the checkpoint has {saved} epoch(s) averaged. " +
                                           "Resume with the epochs and weight-averaging epochs of the interrupted run.");
        return state.Average!;
    }
}
