using SpikeEngine.Autograd;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>Top-1 / top-5 accuracy (fractions in [0, 1]) and mean loss over a data set.</summary>
public sealed record Accuracy(double Top1, double Top5, double Loss, int Samples);

public static class Metrics
{
    /// <summary>Counts the rows whose label is among the k largest logits.</summary>
    public static int CountTopK(Tensor logits, ReadOnlySpan<int> labels, int k)
    {
        k = Math.Min(k, logits.Shape[1]);
        var correct = new bool[labels.Length];
        logits.Backend.TopKCorrect(logits, labels, k, correct);
        return correct.Count(c => c);
    }

    /// <summary>
    /// Evaluates <paramref name="model"/> in eval mode without gradients; restores the previous mode.
    /// <paramref name="onBatch"/>, if given, sees every batch with its logits (e.g. to keep per-image predictions).
    /// With <paramref name="ranks"/>, each rank evaluates its shard of the loader and the counts are summed over the
    /// ranks (top-1 and top-5 exactly; the loss sum as a double), so every rank returns the whole set's accuracy.
    /// </summary>
    public static Accuracy Evaluate(Module model, DataLoader loader, Device device, CancellationToken cancel = default,
        Action<DeviceBatch, Tensor>? onBatch = null, ICommunicator? ranks = null)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var noGrad = Grad.NoGrad();
            long top1 = 0, top5 = 0, n = 0;
            double lossSum = 0;
            foreach (var batch in DevicePlacement.Batches(loader, device, 0, cancel))
            {
                using (batch)
                {
                    cancel.ThrowIfCancellationRequested();
                    var logits = model.Forward(batch.Images);
                    onBatch?.Invoke(batch, logits);
                    top1 += CountTopK(logits, batch.Labels, 1);
                    top5 += CountTopK(logits, batch.Labels, 5);
                    using (var loss = F.SoftmaxCrossEntropy(logits, batch.Labels)) lossSum += loss.Item() * batch.Size;
                    n += batch.Size;
                    logits.Dispose();
                }
            }
            if (ranks is not null)
            {
                Span<long> counts = [top1, top5, n];
                Span<double> loss = [lossSum];
                ranks.AllReduceSum(counts);
                ranks.AllReduceSum(loss);
                (top1, top5, n, lossSum) = (counts[0], counts[1], counts[2], loss[0]);
            }
            return new Accuracy((double)top1 / n, (double)top5 / n, lossSum / n, (int)n);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }
}
