using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using SpikeEngine.Autograd;
using SpikeEngine.Data;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// Accuracy of one SNN setting (engine/METHOD.md §5): at every step t = 1..T the prediction is the argmax of the
/// cumulative output (ties → lowest class). <see cref="AccuracyPerStep"/>[t−1] is the accuracy at t;
/// a run of T answers every T' ≤ T. <see cref="Seconds"/> is the wall time of the simulations.
/// </summary>
public sealed record SnnRunResult(
    long Samples, int PresimLen, int SimLen, int Iterations,
    [property: JsonPropertyName("batchsize")] int BatchSize,
    [property: JsonConverter(typeof(ResultJson.RoundedArray))] double[] AccuracyPerStep,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double Seconds)
{
    [JsonConverter(typeof(ResultJson.Rounded))]
    public double ImagesPerSecond => Samples / Math.Max(Seconds, 1e-9);

    /// <summary>Wall time of a batch divided by its T output steps (COS's pre-simulation is part of the cost).</summary>
    [JsonConverter(typeof(ResultJson.Rounded))]
    public double LatencyPerStepMs => Seconds * 1000 / (Math.Max(1, (Samples + BatchSize - 1) / BatchSize) * (double)SimLen);

    public double At(int t) => t >= 1 && t <= SimLen ? AccuracyPerStep[t - 1]
        : throw new ArgumentOutOfRangeException(nameof(t), t, $"Accuracy was measured for t = 1..{SimLen}.");

    /// <summary>Steps every layer ran: ρ + T per the spec's cost (pre-simulation plus simulation).</summary>
    [JsonIgnore] public int CostSteps => PresimLen + SimLen;

    /// <summary>Firing rates, SynOps and energy per readout time t, when the run was recorded (<see cref="SnnEvaluationOptions.RecordActivity"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SpikeActivity? Activity { get; init; }
}

/// <summary>
/// Per image (in data order): its dataset index, label, the ANN's prediction, and per SNN run the predicted class
/// at every step t = 1..T (<see cref="RunPredictions.PerStep"/>[t−1][image]).
/// </summary>
public sealed record PredictionTable(int[] Indices, int[] Labels, int[] Ann, IReadOnlyList<RunPredictions> Runs);

/// <summary>One run's predictions; <see cref="Name"/> is "plain" (ρ = 0) or "cos" (ρ &gt; 0; "cos_rhoR_kK" when a plain name is ambiguous).</summary>
public sealed record RunPredictions(string Name, int[][] PerStep);

/// <summary>ANN accuracy beside the SNN accuracies of several settings on the same images.</summary>
public sealed record SnnEvaluation(
    long Samples,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double AnnAccuracy,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double AnnSeconds,
    IReadOnlyList<SnnRunResult> Runs)
{
    /// <summary>Per-image predictions, when asked for (<see cref="SnnEvaluationOptions.KeepPredictions"/>).</summary>
    [JsonIgnore] public PredictionTable? Predictions { get; init; }

    /// <summary>How many processes shared the work (<see cref="Samples"/> is the total over all of them).</summary>
    [JsonPropertyOrder(-1)] public int Ranks { get; init; } = 1;

    public string ToJson() => ResultJson.Serialize(this);

    /// <summary>The table ANN | run 1 at t = 1, 2, 4, 8, … | run 2 …, in percent.</summary>
    public string ToTable()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"{Samples} images; ANN (QCFS, eval) {100 * AnnAccuracy:F2} %");
        foreach (var r in Runs)
        {
            var shown = Enumerable.Range(1, r.SimLen).Where(t => (t & (t - 1)) == 0 || t == r.SimLen);
            sb.Append(r.PresimLen == 0 ? "plain     " : $"COS ρ={r.PresimLen,-3} ");
            sb.AppendJoin(" | ", shown.Select(t => $"T={t}: {100 * r.At(t),6:F2}"));
            sb.AppendLine(inv, $"   ({r.ImagesPerSecond:F1} img/s, ρ+T = {r.CostSteps} steps{(r.Iterations > 1 ? $", k={r.Iterations}" : "")})");
        }
        return sb.ToString();
    }
}

/// <summary>Where an evaluation stands after <paramref name="Batch"/> of <paramref name="Batches"/> batches: images seen, ANN accuracy so far.</summary>
public readonly record struct EvaluationProgress(int Batch, int Batches, long Images, double AnnAccuracy)
{
    public override string ToString() => $"batch {Batch}/{Batches}: ANN {100 * AnnAccuracy:F2} %";
}

/// <summary>How <see cref="SnnEvaluator.Evaluate(Module, SpikingNetwork, DataLoader, IEnumerable{SimulationSettings}, SnnEvaluationOptions)"/> runs beyond the settings themselves.</summary>
public sealed record SnnEvaluationOptions
{
    /// <summary>The device the ANN and the spiking network are on; every batch is moved there (<see cref="DevicePlacement"/>).</summary>
    public Device Device { get; init; } = Device.Cpu;
    /// <summary>Keep every image's predictions (<see cref="SnnEvaluation.Predictions"/>).</summary>
    public bool KeepPredictions { get; init; }
    /// <summary>One recorder per setting (null entries: none), attached to every batch's simulation (diagnostics).</summary>
    public IReadOnlyList<SpikeRecorder?>? Recorders { get; init; }
    /// <summary>Record every run (a <see cref="SpikeRecorder"/> each, unless <see cref="Recorders"/> are given) and report
    /// its <see cref="SnnRunResult.Activity"/>: firing rates, SynOps and energy per image.</summary>
    public bool RecordActivity { get; init; }
    public int? MaxBatches { get; init; }
    /// <summary>Called after every batch.</summary>
    public Action<EvaluationProgress>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
    /// <summary>
    /// Sharded evaluation: the loader holds this rank's shard (<see cref="Distributed.ShardKind.Batches"/>) and the
    /// counts (images, ANN and per-step correct, the recorders') are summed over the ranks, so every rank returns
    /// the whole set's result, equal to the single-process one. Per-image predictions are not gathered.
    /// </summary>
    public Distributed.ICommunicator? Ranks { get; init; }
}

public static class SnnEvaluator
{
    /// <summary>
    /// Evaluates the ANN (QCFS forward, eval mode, no gradients) and, for each setting, the converted SNN
    /// over the loader's epoch 0 (at most <paramref name="maxBatches"/> batches). Each setting is simulated
    /// once with its own T; pass the largest T you want: smaller ones are read off the same run.
    /// </summary>
    public static SnnEvaluation Evaluate(Module ann, SpikingNetwork snn, DataLoader loader, IEnumerable<SimulationSettings> settings,
        int? maxBatches = null, Action<EvaluationProgress>? progress = null) =>
        Evaluate(ann, snn, loader, settings, new SnnEvaluationOptions { MaxBatches = maxBatches, Progress = progress });

    /// <summary>The one ANN + SNN evaluation loop (see the overload above); <paramref name="options"/> sets device, predictions, recorders.</summary>
    public static SnnEvaluation Evaluate(Module ann, SpikingNetwork snn, DataLoader loader, IEnumerable<SimulationSettings> settings,
        SnnEvaluationOptions options)
    {
        var runs = settings.ToList();
        if (runs.Count == 0) throw new ArgumentException("SNN evaluation: give at least one simulation setting (T, ρ).");
        if (options.Recorders is { } rec && rec.Count != runs.Count)
            throw new ArgumentException($"SNN evaluation: {rec.Count} recorders for {runs.Count} settings; give one per setting (null for none).");
        if (options.Ranks is not null && options.KeepPredictions)
            throw new ArgumentException("SNN evaluation: per-image predictions are not gathered across ranks; keep them in a single-process run.");
        var recorders = options.Recorders ?? (options.RecordActivity ? runs.Select(_ => (SpikeRecorder?)new SpikeRecorder()).ToList() : null);
        long images = 0, annCorrect = 0;
        var correct = runs.Select(r => new long[r.Steps]).ToArray();
        var seconds = new double[runs.Count];
        double annSeconds = 0;
        var keep = options.KeepPredictions ? new PredictionLists(runs) : null;
        bool wasTraining = ann.Training;
        ann.Eval();
        try
        {
            int index = 0;
            foreach (var batch in DevicePlacement.Batches(loader, options.Device, 0, options.Cancel))
            {
                using (batch)
                {
                    if (options.MaxBatches is int m && index >= m) break;
                    options.Cancel.ThrowIfCancellationRequested();
                    index++;
                    var sw = Stopwatch.StartNew();
                    int[] annPredicted;
                    using (Grad.NoGrad())
                    {
                        using var logits = ann.Forward(batch.Images);
                        annPredicted = SpikingNetwork.PredictionsPerStep(logits, batch.Size, 1)[0];
                        annCorrect += annPredicted.Zip(batch.Labels).Count(p => p.First == p.Second);
                    }
                    annSeconds += sw.Elapsed.TotalSeconds;
                    keep?.AddBatch(batch, annPredicted);
                    for (int r = 0; r < runs.Count; r++)
                    {
                        sw.Restart();
                        using var outputs = snn.Simulate(batch.Images, runs[r], recorders?[r]);
                        var perStep = SpikingNetwork.PredictionsPerStep(outputs, batch.Size, runs[r].Steps);
                        seconds[r] += sw.Elapsed.TotalSeconds;
                        for (int t = 0; t < runs[r].Steps; t++)
                            correct[r][t] += perStep[t].Zip(batch.Labels).Count(p => p.First == p.Second);
                        keep?.AddRun(r, perStep);
                    }
                    images += batch.Size;
                    options.Progress?.Invoke(new EvaluationProgress(index, Math.Min(options.MaxBatches ?? int.MaxValue, loader.BatchCount),
                        images, annCorrect / (double)images));
                }
            }
        }
        finally { ann.Train(wasTraining); }
        if (options.Ranks is { } ranks)
        {
            var counts = new long[2 + correct.Sum(c => c.Length)];
            (counts[0], counts[1]) = (images, annCorrect);
            int at = 2;
            foreach (var c in correct) { c.CopyTo(counts, at); at += c.Length; }
            ranks.AllReduceSum(counts);
            (images, annCorrect, at) = (counts[0], counts[1], 2);
            foreach (var c in correct) { counts.AsSpan(at, c.Length).CopyTo(c); at += c.Length; }
            foreach (var recorder in recorders ?? []) recorder?.SumOver(ranks);
        }
        if (images == 0) throw new InvalidOperationException("SNN evaluation: the loader yielded no images.");
        var results = runs.Select((s, r) => new SnnRunResult(images, s.Presim, s.Steps, s.Iterations, loader.BatchSize,
            correct[r].Select(c => c / (double)images).ToArray(), seconds[r])
        {
            Activity = recorders?[r] is { } recorded ? SpikeActivity.From(recorded.Result()) : null,
        }).ToList();
        return new SnnEvaluation(images, annCorrect / (double)images, annSeconds, results)
        {
            Predictions = keep?.ToTable(), Ranks = options.Ranks?.Size ?? 1,
        };
    }

    /// <summary>Column name of a run in a prediction table: "plain" / "cos", made unique with ρ and k when needed.</summary>
    public static IReadOnlyList<string> RunNames(IReadOnlyList<SimulationSettings> runs)
    {
        static string Plain(SimulationSettings s) => s.Presim == 0 ? "plain" : "cos";
        return runs.Select(s => runs.Count(o => Plain(o) == Plain(s)) == 1 ? Plain(s)
            : s.Presim == 0 ? $"plain_t{s.Steps}" : $"cos_rho{s.Presim}_k{s.Iterations}").ToList();
    }

    private sealed class PredictionLists(IReadOnlyList<SimulationSettings> runs)
    {
        private readonly List<int> _indices = [], _labels = [], _ann = [];
        private readonly List<int>[][] _steps = runs.Select(r => Enumerable.Range(0, r.Steps).Select(_ => new List<int>()).ToArray()).ToArray();

        public void AddBatch(DeviceBatch batch, int[] ann)
        {
            _indices.AddRange(batch.Indices);
            _labels.AddRange(batch.Labels);
            _ann.AddRange(ann);
        }

        public void AddRun(int run, int[][] perStep)
        {
            for (int t = 0; t < perStep.Length; t++) _steps[run][t].AddRange(perStep[t]);
        }

        public PredictionTable ToTable()
        {
            var names = RunNames(runs);
            return new PredictionTable(_indices.ToArray(), _labels.ToArray(), _ann.ToArray(),
                _steps.Select((s, r) => new RunPredictions(names[r], s.Select(l => l.ToArray()).ToArray())).ToList());
        }
    }
}
