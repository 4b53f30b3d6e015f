using SpikeEngine.Autograd;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>
/// Stochastic weight averaging (SWA; Izmailov et al., 2018): the equal-weight mean of the parameters (weights, biases,
/// BatchNorm γ/β and the QCFS thresholds λ) at the ends of the last epochs of a run. The mean of points along the
/// late, low-rate trajectory lies nearer the centre of the flat region SGD wanders in than any one of them, and usually
/// tests better. BatchNorm's running statistics are not averaged: they belong to the weights that produced them, so
/// <see cref="RecomputeBatchNorm"/> measures them again for the averaged weights with one pass over training images.
/// The mean is kept on the host in float32 and updated as mean += (x − mean)/n, which is exact enough over tens of epochs.
/// </summary>
public sealed class WeightAverage
{
    private readonly Dictionary<string, float[]> _mean = [];
    private readonly Dictionary<string, Shape> _shapes = [];

    /// <summary>How many snapshots the mean holds.</summary>
    public int Count { get; private set; }

    /// <summary>Adds the model's current parameters to the mean.</summary>
    public void Add(Module model)
    {
        Count++;
        foreach (var (name, p) in model.NamedParameters())
        {
            var x = p.ToArray();
            if (!_mean.TryGetValue(name, out var mean))
            {
                if (Count > 1) throw new InvalidOperationException($"Weight average: parameter '{name}' was not in the earlier snapshots.");
                _mean[name] = x;
                _shapes[name] = p.Shape;
                continue;
            }
            if (mean.Length != x.Length) throw new InvalidOperationException($"Weight average: parameter '{name}' changed size ({mean.Length} → {x.Length}).");
            float w = 1f / Count;
            for (int i = 0; i < x.Length; i++) mean[i] += (x[i] - mean[i]) * w;
        }
    }

    /// <summary>The mean as CPU tensors by parameter name (for a checkpoint; the caller disposes them).</summary>
    public Dictionary<string, Tensor> ToTensors() =>
        _mean.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value, _shapes[kv.Key]));

    /// <summary>
    /// Restores a mean saved with <see cref="ToTensors"/> over <paramref name="count"/> snapshots; every parameter of
    /// <paramref name="model"/> must be there with its shape, and nothing else.
    /// </summary>
    public static WeightAverage Load(IReadOnlyDictionary<string, Tensor> saved, int count, Module model, string source)
    {
        var own = model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        var missing = own.Keys.Where(k => !saved.ContainsKey(k)).ToList();
        var unknown = saved.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unknown.Count > 0)
            throw new InvalidDataException($"{source}: the weight average does not match the model: " +
                                           (missing.Count > 0 ? $"missing {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")} " : "") +
                                           (unknown.Count > 0 ? $"unknown {string.Join(", ", unknown.Take(5))}{(unknown.Count > 5 ? ", …" : "")}" : "").TrimEnd() + ".");
        var average = new WeightAverage { Count = count };
        foreach (var (name, t) in saved)
        {
            if (t.Shape != own[name].Shape)
                throw new InvalidDataException($"{source}: weight average '{name}' has shape {t.Shape}, the parameter has {own[name].Shape}.");
            average._mean[name] = t.ToArray();
            average._shapes[name] = t.Shape;
        }
        return average;
    }

    /// <summary>Writes the mean into the model's parameters (its buffers are left as they are).</summary>
    public void CopyTo(Module model)
    {
        if (Count == 0) throw new InvalidOperationException("Weight average: no snapshot yet.");
        foreach (var (name, p) in model.NamedParameters())
        {
            if (!_mean.TryGetValue(name, out var mean)) throw new InvalidOperationException($"Weight average: no mean for parameter '{name}'.");
            p.Backend.CopyFromHost(mean, p);
        }
    }

    /// <summary>
    /// Measures every BatchNorm layer's running mean and variance again as the plain average of their batch statistics
    /// over one pass of <paramref name="loader"/> (training mode, no gradients, no update): running_mean 0 and
    /// running_var 1 to start, momentum 1/(k + 1) at batch k — PyTorch's torch.optim.swa_utils.update_bn. The order is
    /// the loader's for <paramref name="epoch"/>. With <paramref name="parallel"/> each rank passes over its shard and the
    /// statistics are averaged over the ranks. Restores the layers' momentum and the model's mode; returns the batches seen.
    /// <paramref name="onBatch"/> (batches done, batches in the pass, images of the batch) follows the pass.
    /// </summary>
    public static int RecomputeBatchNorm(Module model, DataLoader loader, Device device, int epoch,
        DataParallel? parallel = null, CancellationToken cancel = default, Action<int, int, int>? onBatch = null)
    {
        var norms = model.NamedModules().Select(m => m.Module).OfType<BatchNorm2d>().ToList();
        if (norms.Count == 0) return 0;
        var momentum = norms.Select(n => n.Momentum).ToArray();
        bool wasTraining = model.Training;
        int batches = 0;
        try
        {
            foreach (var bn in norms)
            {
                bn.RunningMean.Backend.CopyFromHost(new float[bn.Channels], bn.RunningMean);
                bn.RunningVar.Backend.CopyFromHost(Enumerable.Repeat(1f, bn.Channels).ToArray(), bn.RunningVar);
            }
            model.Train();
            using var noGrad = Grad.NoGrad();
            foreach (var batch in DevicePlacement.Batches(loader, device, epoch, cancel))
            {
                using (batch)
                {
                    cancel.ThrowIfCancellationRequested();
                    foreach (var bn in norms) bn.Momentum = 1f / (batches + 1);
                    model.Forward(batch.Images).Dispose();
                    batches++;
                    onBatch?.Invoke(batches, loader.BatchCount, batch.Size);
                }
            }
            if (batches == 0) throw new InvalidOperationException("Recomputing the BatchNorm statistics needs at least one training batch.");
            parallel?.AverageBuffers(model);
            return batches;
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++) norms[i].Momentum = momentum[i];
            model.Train(wasTraining);
        }
    }
}
