namespace SpikeEngine.Distributed;

/// <summary>How a rank's part of an epoch's order is cut: by samples (training) or by whole batches (evaluation).</summary>
public enum ShardKind
{
    /// <summary>
    /// PyTorch's DistributedSampler (drop_last = False): the order is padded to a multiple of the rank count by
    /// repeating its start, then rank r takes positions r, r + W, r + 2W, … Every rank gets the same count, so
    /// every rank runs the same number of steps; the order itself is the loader's (seeded, per epoch), so the
    /// shards are disjoint and deterministic for a seed.
    /// </summary>
    Samples,
    /// <summary>
    /// The single-process batches, dealt out round robin: batch b goes to rank b mod W. Every image is seen once,
    /// in a batch identical to the single-process run's, so per-image results (and counts) are bit for bit the same.
    /// </summary>
    Batches,
}

/// <summary>Rank <see cref="Rank"/> of <see cref="Ranks"/>'s part of a data order (<see cref="ShardKind"/>).</summary>
public sealed record DataShard
{
    public DataShard(int rank, int ranks, ShardKind kind)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "A shard needs at least one rank.");
        if (rank < 0 || rank >= ranks) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"The rank must be 0..{ranks - 1}.");
        (Rank, Ranks, Kind) = (rank, ranks, kind);
    }

    public int Rank { get; }
    public int Ranks { get; }
    public ShardKind Kind { get; }

    /// <summary>This rank's shard for a communicator.</summary>
    public static DataShard For(ICommunicator ranks, ShardKind kind) => new(ranks.Rank, ranks.Size, kind);

    /// <summary>This rank's indices, in the order it visits them, out of the full <paramref name="order"/>.</summary>
    public int[] Select(int[] order, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        int n = order.Length;
        if (Kind == ShardKind.Samples)
        {
            if (n == 0) return [];
            int per = (n + Ranks - 1) / Ranks;
            var mine = new int[per];
            for (int k = 0; k < per; k++) mine[k] = order[(int)((Rank + (long)k * Ranks) % n)]; // past the end: the padding, order[i mod n]
            return mine;
        }
        var picked = new List<int>();
        for (long start = (long)Rank * batchSize; start < n; start += (long)Ranks * batchSize)
            picked.AddRange(order.AsSpan((int)start, (int)Math.Min(batchSize, n - start)));
        return picked.ToArray();
    }

    /// <summary>How many indices this rank gets out of <paramref name="total"/> (what <see cref="Select"/> returns, without the order).</summary>
    public int Count(int total, int batchSize)
    {
        if (Kind == ShardKind.Samples) return total == 0 ? 0 : (total + Ranks - 1) / Ranks;
        int batches = (total + batchSize - 1) / batchSize;
        int mine = batches <= Rank ? 0 : (batches - Rank + Ranks - 1) / Ranks;
        if (mine == 0) return 0;
        bool hasLast = (batches - 1) % Ranks == Rank;
        return hasLast ? (mine - 1) * batchSize + (total - (batches - 1) * batchSize) : mine * batchSize;
    }
}
