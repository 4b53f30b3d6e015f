using System.Diagnostics;
using System.Text.Json.Serialization;
using SpikeEngine.Distributed;
using SpikeEngine.IO;
using SpikeEngine.Snn;
using SpikeEngine.Training;

namespace SpikeEngine.Workflows;

/// <summary>Top-1 accuracy of the QCFS ANN over <see cref="Samples"/> images; <see cref="Seconds"/> = wall time, data loading included.</summary>
public sealed record AnnEvaluation(
    long Samples,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double AnnAccuracy,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double Seconds)
{
    [JsonConverter(typeof(ResultJson.Rounded))]
    public double ImagesPerSecond => Samples / Math.Max(Seconds, 1e-9);

    /// <summary>Per-image predictions (no SNN runs), when asked for.</summary>
    [JsonIgnore] public PredictionTable? Predictions { get; init; }

    /// <summary>How many processes shared the work (<see cref="Samples"/> is the total over all of them).</summary>
    [JsonPropertyOrder(-1)] public int Ranks { get; init; } = 1;
}

/// <summary>Evaluating a loaded model on an opened split: the ANN alone, or the ANN beside SNN runs of several (ρ, T, k).</summary>
public static class Evaluations
{
    /// <summary>
    /// The ANN's top-1 accuracy (eval mode, no gradients) with <paramref name="batchSize"/> images per batch. With
    /// <paramref name="ranks"/> every rank evaluates its share of the batches and the counts are summed: the result
    /// is the single-process one, bit for bit, on every rank.
    /// </summary>
    public static AnnEvaluation Ann(LoadedModel model, ImageSplit data, int batchSize, bool keepPredictions = false,
        CancellationToken cancel = default, ICommunicator? ranks = null)
    {
        if (ranks is not null && keepPredictions)
            throw new ArgumentException("Per-image predictions are not gathered across ranks; write them from a single-process run.");
        var clock = Stopwatch.StartNew();
        List<int>? indices = keepPredictions ? [] : null, labels = keepPredictions ? [] : null, ann = keepPredictions ? [] : null;
        var accuracy = Metrics.Evaluate(model.Ann, model.Loader(data, batchSize, ranks), model.Device, cancel, keepPredictions
            ? (batch, logits) =>
            {
                indices!.AddRange(batch.Indices);
                labels!.AddRange(batch.Labels);
                ann!.AddRange(SpikingNetwork.PredictionsPerStep(logits, batch.Size, 1)[0]);
            }
            : null, ranks);
        double seconds = clock.Elapsed.TotalSeconds;
        return new AnnEvaluation(accuracy.Samples, accuracy.Top1, seconds)
        {
            Predictions = keepPredictions ? new PredictionTable(indices!.ToArray(), labels!.ToArray(), ann!.ToArray(), []) : null,
            Ranks = ranks?.Size ?? 1,
        };
    }

    /// <summary>
    /// The ANN accuracy and, on the same images in one pass, every SNN run: conversion (once per model), then for
    /// each setting COS with ρ = Presim (0 = plain conversion), T = Steps, k = Iterations. With
    /// <paramref name="recordActivity"/> every run also reports its firing rates, SynOps and energy per image
    /// (<see cref="SnnRunResult.Activity"/>; the recording is part of the run's measured time). With <paramref name="ranks"/>
    /// sharded over the ranks as <see cref="Ann"/> is.
    /// </summary>
    public static SnnEvaluation Snn(LoadedModel model, ImageSplit data, IReadOnlyList<SimulationSettings> runs, int batchSize,
        bool keepPredictions = false, Action<EvaluationProgress>? progress = null, CancellationToken cancel = default,
        bool recordActivity = false, ICommunicator? ranks = null) =>
        SnnEvaluator.Evaluate(model.Ann, model.Snn, model.Loader(data, batchSize, ranks), runs, new SnnEvaluationOptions
        {
            Device = model.Device, KeepPredictions = keepPredictions, Progress = progress, Cancel = cancel, RecordActivity = recordActivity, Ranks = ranks,
        });
}
