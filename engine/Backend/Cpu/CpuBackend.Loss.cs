using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Softmax cross-entropy and classification metrics over rows of [N, classes].
public sealed partial class CpuBackend
{
    /// <summary>
    /// Mean over rows of the cross-entropy between softmax(row) and the target (1 − ε)·onehot(label) + ε/classes
    /// (label smoothing ε = <paramref name="smoothing"/>; 0 gives logsumexp(row) − row[label]), computed stably (row max
    /// subtracted, double sums). Labels are validated first. Non-finite logits give a NaN (or infinite) loss, which is
    /// returned as is — the caller (trainer) must check it; dlogits = (softmax − target)/rows then holds NaNs too.
    /// </summary>
    public float SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor? dlogits, float smoothing = 0f)
    {
        BackendContract.SoftmaxCrossEntropy(Device, logits, labels, dlogits, smoothing);
        int n = logits.Shape[0], classes = logits.Shape[1];
        float[] xd = Data(logits);
        float[]? gd = dlogits is null ? null : Data(dlogits);
        int[] lab = labels.ToArray();
        var rowLoss = new double[n];
        double keep = 1.0 - smoothing, uniform = (double)smoothing / classes;
        ForChunks(n, Math.Max(1, 4096 / Math.Max(1, classes)), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                int o = r * classes;
                float max = float.NegativeInfinity;
                bool nan = false;
                for (int j = 0; j < classes; j++) { float v = xd[o + j]; if (v > max) max = v; else if (float.IsNaN(v)) nan = true; }
                if (nan) max = float.NaN;
                double sum = 0, centred = 0;
                for (int j = 0; j < classes; j++) { sum += Math.Exp(xd[o + j] - max); centred += xd[o + j] - max; }
                double logSum = Math.Log(sum);
                rowLoss[r] = logSum - keep * (xd[o + lab[r]] - max) - (uniform == 0 ? 0 : uniform * centred);
                if (gd is null) continue;
                double invN = 1.0 / n;
                for (int j = 0; j < classes; j++)
                {
                    double softmax = Math.Exp(xd[o + j] - max - logSum);
                    gd[o + j] = (float)((softmax - (j == lab[r] ? keep : 0.0) - uniform) * invN);
                }
            }
        });
        double total = 0;
        foreach (var l in rowLoss) total += l;
        return (float)(total / n);
    }

    public void ArgMax(Tensor x, Span<int> indices)
    {
        BackendContract.ArgMax(Device, x, indices.Length);
        int n = x.Shape[0], classes = x.Shape[1];
        var xd = x.Span;
        for (int r = 0; r < n; r++)
        {
            var row = xd.Slice(r * classes, classes);
            int best = 0;
            for (int j = 1; j < classes; j++) if (row[j] > row[best]) best = j;
            indices[r] = best;
        }
    }

    public void TopKCorrect(Tensor x, ReadOnlySpan<int> labels, int k, Span<bool> correct)
    {
        BackendContract.TopKCorrect(Device, x, labels, k, correct.Length);
        int n = x.Shape[0], classes = x.Shape[1];
        var xd = x.Span;
        for (int r = 0; r < n; r++)
        {
            var row = xd.Slice(r * classes, classes);
            int label = labels[r];
            float v = row[label];
            // Rank of the label: entries larger, or equal with a lower index, come before it.
            int ahead = 0;
            for (int j = 0; j < classes; j++)
                if (row[j] > v || (row[j] == v && j < label)) ahead++;
            correct[r] = ahead < k;
        }
    }
}
