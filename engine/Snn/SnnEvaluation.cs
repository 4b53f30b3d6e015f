using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SpikeEngine.Autograd;
using SpikeEngine.Data;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// Accuracy of one SNN setting (cos.md §5): at every step t = 1..T the prediction is the argmax of the
/// cumulative output (ties → lowest class). <see cref="AccuracyPerStep"/>[t−1] is the accuracy at t;
/// a run of T answers every T' ≤ T.
/// </summary>
public sealed record SnnAccuracy(int Presim, int Steps, int Iterations, double[] AccuracyPerStep, long Images,
    double Seconds, double ImagesPerSecond)
{
    public double At(int t) => t >= 1 && t <= Steps ? AccuracyPerStep[t - 1]
        : throw new ArgumentOutOfRangeException(nameof(t), t, $"Accuracy was measured for t = 1..{Steps}.");
    /// <summary>Steps every layer ran: ρ + T per the spec's cost (pre-simulation plus simulation).</summary>
    public int CostSteps => Presim + Steps;
}

/// <summary>ANN accuracy beside the SNN accuracies of several settings on the same data.</summary>
public sealed record SnnEvaluation(double AnnAccuracy, long Images, double AnnSeconds, IReadOnlyList<SnnAccuracy> Runs)
{
    public string ToJson() => JsonSerializer.Serialize(this, SimulationStatistics.JsonOptions);

    /// <summary>The table ANN | run 1 at t = 1, 2, 4, 8, … | run 2 …, in percent.</summary>
    public string ToTable()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"{Images} images; ANN (QCFS, eval) {100 * AnnAccuracy:F2} %");
        foreach (var r in Runs)
        {
            var shown = Enumerable.Range(1, r.Steps).Where(t => (t & (t - 1)) == 0 || t == r.Steps);
            sb.Append(r.Presim == 0 ? "plain     " : $"COS ρ={r.Presim,-3} ");
            sb.AppendJoin(" | ", shown.Select(t => $"T={t}: {100 * r.At(t),6:F2}"));
            sb.AppendLine(inv, $"   ({r.ImagesPerSecond:F1} img/s, ρ+T = {r.CostSteps} steps{(r.Iterations > 1 ? $", k={r.Iterations}" : "")})");
        }
        return sb.ToString();
    }
}

public static class SnnEvaluator
{
    /// <summary>
    /// Evaluates the ANN (QCFS forward, eval mode, no gradients) and, for each setting, the converted SNN
    /// over the loader's epoch 0 (at most <paramref name="maxBatches"/> batches). Each setting is simulated
    /// once with its own T; pass the largest T you want: smaller ones are read off the same run.
    /// </summary>
    public static SnnEvaluation Evaluate(Module ann, SpikingNetwork snn, DataLoader loader, IEnumerable<SimulationSettings> settings,
        int? maxBatches = null, Action<string>? progress = null)
    {
        var runs = settings.ToList();
        if (runs.Count == 0) throw new ArgumentException("SNN evaluation: give at least one simulation setting (T, ρ).");
        long images = 0, annCorrect = 0;
        var correct = runs.Select(r => new long[r.Steps]).ToArray();
        var seconds = new double[runs.Count];
        double annSeconds = 0;
        bool wasTraining = ann.Training;
        ann.Eval();
        try
        {
            int index = 0;
            foreach (var batch in loader.Epoch(0))
            {
                using (batch)
                {
                    if (maxBatches is int m && index >= m) break;
                    index++;
                    var sw = Stopwatch.StartNew();
                    using (Grad.NoGrad())
                    {
                        using var logits = ann.Forward(batch.Images);
                        var predicted = SpikingNetwork.PredictionsPerStep(logits, batch.Size, 1)[0];
                        annCorrect += predicted.Zip(batch.Labels).Count(p => p.First == p.Second);
                    }
                    annSeconds += sw.Elapsed.TotalSeconds;
                    for (int r = 0; r < runs.Count; r++)
                    {
                        sw.Restart();
                        using var outputs = snn.Simulate(batch.Images, runs[r]);
                        var perStep = SpikingNetwork.PredictionsPerStep(outputs, batch.Size, runs[r].Steps);
                        seconds[r] += sw.Elapsed.TotalSeconds;
                        for (int t = 0; t < runs[r].Steps; t++)
                            correct[r][t] += perStep[t].Zip(batch.Labels).Count(p => p.First == p.Second);
                    }
                    images += batch.Size;
                    progress?.Invoke($"batch {index}/{maxBatches ?? loader.BatchCount}: ANN {100.0 * annCorrect / images:F2} %");
                }
            }
        }
        finally { ann.Train(wasTraining); }
        if (images == 0) throw new InvalidOperationException("SNN evaluation: the loader yielded no images.");
        var results = runs.Select((s, r) => new SnnAccuracy(s.Presim, s.Steps, s.Iterations,
            correct[r].Select(c => c / (double)images).ToArray(), images, seconds[r], images / Math.Max(seconds[r], 1e-9))).ToList();
        return new SnnEvaluation(annCorrect / (double)images, images, annSeconds, results);
    }
}
