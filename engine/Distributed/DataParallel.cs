using System.Runtime.InteropServices;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Distributed;

/// <summary>
/// Data-parallel training over the ranks of a communicator (PyTorch DDP's recipe): every rank holds the whole
/// model, starts from rank 0's weights, runs forward and backward on its own part of the global batch, and
/// before each update the gradients are averaged over the ranks, so every rank applies the same update and
/// the replicas stay identical. Host tensors (and CUDA tensors without NCCL) travel as one flat float buffer
/// in one all-reduce per step; with <see cref="Device"/> (NCCL) the CUDA gradients are summed in place on the
/// GPUs in one grouped NCCL launch.
/// BatchNorm running statistics stay local during an epoch (each rank's batches update its own) and rank 0's
/// are copied to all before an evaluation, as DDP's buffer broadcast does; with <see cref="SyncBatchNorm"/>
/// they are averaged over the ranks after every step instead. (The normalisation inside a training forward
/// pass always uses the local batch's statistics: PyTorch's SyncBatchNorm, which normalises with the global
/// batch's, is not implemented.)
/// </summary>
public sealed class DataParallel(ICommunicator ranks, NcclCommunicator? device = null)
{
    public ICommunicator Ranks { get; } = ranks;
    /// <summary>Sums CUDA gradients on the GPUs (one rank per GPU); null: through host memory over <see cref="Ranks"/>.</summary>
    public NcclCommunicator? Device { get; } = device;
    /// <summary>Average the BatchNorm running statistics over the ranks after every step (--sync_bn).</summary>
    public bool SyncBatchNorm { get; init; }
    /// <summary>After every step, compare a checksum of every rank's parameters and fail when they differ (a debugging aid; costs a pass over the weights).</summary>
    public bool CheckReplicas { get; init; }

    public bool IsRoot => Ranks.Rank == 0;
    /// <summary>Steps whose replicas were checked identical (<see cref="CheckReplicas"/>).</summary>
    public long CheckedSteps { get; private set; }
    /// <summary>The parameters' checksum after the last checked step (the same on every rank).</summary>
    public ulong LastChecksum { get; private set; }

    /// <summary>
    /// Gives every rank rank 0's parameters and buffers (call once, before the first step), after checking that
    /// every rank starts at the same epoch <paramref name="startEpoch"/> (a resume must see the same checkpoint on every rank).
    /// </summary>
    public void Start(Module model, int startEpoch = 0)
    {
        var all = new byte[4 * Ranks.Size];
        Ranks.AllGather(BitConverter.GetBytes(startEpoch), all);
        var starts = Enumerable.Range(0, Ranks.Size).Select(r => BitConverter.ToInt32(all, 4 * r)).ToArray();
        if (starts.Any(s => s != startEpoch))
            throw new DistributedException($"The ranks start at different epochs ({string.Join(", ", starts.Select((s, r) => $"rank {r}: {s}"))}): " +
                                           "to resume, every rank must read the same last checkpoint (put --savedir on a folder all nodes share).");
        var tensors = model.NamedParameters().Concat(model.NamedBuffers()).Select(p => p.Tensor).ToList();
        var flat = Gather(tensors);
        Ranks.Broadcast(MemoryMarshal.AsBytes(flat.AsSpan()), 0);
        Scatter(flat, tensors);
    }

    /// <summary>Replaces every parameter's gradient by its mean over the ranks (a missing gradient counts as zeros).</summary>
    public void AverageGradients(Module model)
    {
        var grads = new List<Tensor>();
        foreach (var (_, p) in model.NamedParameters())
        {
            p.Grad ??= Tensor.Zeros(p.Shape, p.Device);
            grads.Add(p.Grad);
        }
        if (Device is not null && grads.All(g => g.Device == Device.Device))
        {
            Device.AllReduceSum(grads);
            foreach (var g in grads) g.Backend.Scale(g, 1f / Ranks.Size, g);
            return;
        }
        Average(grads);
    }

    /// <summary>After the update: BatchNorm statistics averaged (<see cref="SyncBatchNorm"/>), replicas checked (<see cref="CheckReplicas"/>).</summary>
    public void AfterStep(Module model)
    {
        if (SyncBatchNorm) Average(model.NamedBuffers().Select(b => b.Tensor).ToList());
        if (CheckReplicas) CheckIdentical(model);
    }

    /// <summary>Makes the buffers the same on every rank before an evaluation or a checkpoint: rank 0's (already averaged with <see cref="SyncBatchNorm"/>).</summary>
    public void AlignBuffers(Module model)
    {
        if (SyncBatchNorm) return;
        var buffers = model.NamedBuffers().Select(b => b.Tensor).ToList();
        var flat = Gather(buffers);
        Ranks.Broadcast(MemoryMarshal.AsBytes(flat.AsSpan()), 0);
        Scatter(flat, buffers);
    }

    /// <summary>Every buffer replaced by its mean over the ranks (BatchNorm statistics measured on each rank's shard).</summary>
    public void AverageBuffers(Module model) => Average(model.NamedBuffers().Select(b => b.Tensor).ToList());

    /// <summary>An epoch's loss sum, correct count and image count summed over the ranks.</summary>
    public (double LossSum, long Correct, long Seen) SumOverRanks(double lossSum, long correct, long seen)
    {
        Span<double> loss = [lossSum];
        Span<long> counts = [correct, seen];
        Ranks.AllReduceSum(loss);
        Ranks.AllReduceSum(counts);
        return (loss[0], counts[0], counts[1]);
    }

    /// <summary>Every tensor replaced by its mean over the ranks: one all-reduce of one flat host buffer, then ÷ ranks.</summary>
    private void Average(IReadOnlyList<Tensor> tensors)
    {
        var flat = Gather(tensors);
        Ranks.AllReduceSum(flat);
        float n = Ranks.Size;
        for (int i = 0; i < flat.Length; i++) flat[i] /= n;
        Scatter(flat, tensors);
    }

    /// <summary>Fails when the parameters are not bit for bit the same on every rank.</summary>
    private void CheckIdentical(Module model)
    {
        ulong mine = Checksum(model);
        var all = new byte[8 * Ranks.Size];
        Ranks.AllGather(BitConverter.GetBytes(mine), all);
        var sums = Enumerable.Range(0, Ranks.Size).Select(r => BitConverter.ToUInt64(all, 8 * r)).ToArray();
        if (sums.Any(s => s != mine))
            throw new DistributedException($"The model replicas differ after step {CheckedSteps + 1}: parameter checksums per rank {string.Join(", ", sums.Select(s => s.ToString("x16")))}.");
        CheckedSteps++;
        LastChecksum = mine;
    }

    /// <summary>FNV-1a over the bits of every parameter, in the model's order.</summary>
    public static ulong Checksum(Module model)
    {
        ulong h = 14695981039346656037UL;
        foreach (var (_, p) in model.NamedParameters())
            foreach (var b in MemoryMarshal.AsBytes(Host(p).AsSpan()))
                h = (h ^ b) * 1099511628211UL;
        return h;
    }

    private static float[] Host(Tensor t) => t.Device == Tensors.Device.Cpu ? t.Span.ToArray() : t.ToArray();

    /// <summary>The tensors' elements one after another in one host buffer.</summary>
    private static float[] Gather(IReadOnlyList<Tensor> tensors)
    {
        var flat = new float[tensors.Sum(t => (long)t.Numel)];
        int at = 0;
        foreach (var t in tensors)
        {
            var part = flat.AsSpan(at, t.Numel);
            if (t.Device == Tensors.Device.Cpu) t.Span.CopyTo(part);
            else t.Backend.CopyToHost(t, part);
            at += t.Numel;
        }
        return flat;
    }

    private static void Scatter(float[] flat, IReadOnlyList<Tensor> tensors)
    {
        int at = 0;
        foreach (var t in tensors)
        {
            var part = flat.AsSpan(at, t.Numel);
            if (t.Device == Tensors.Device.Cpu) part.CopyTo(t.Span);
            else t.Backend.CopyFromHost(part, t);
            at += t.Numel;
        }
    }
}
