using System.Numerics;
using System.Runtime.InteropServices;

namespace SpikeEngine.Distributed;

/// <summary>
/// Ranks that are threads of one process: each collective puts every rank's data side by side, then every
/// rank computes the result from all of them in rank order (so all ranks hold the same bits), then all wait
/// until everyone has read. A rank that does not arrive within <see cref="InMemoryGroup.Timeout"/> makes the
/// others fail with a <see cref="DistributedException"/> instead of waiting forever. For tests: the same
/// data-parallel code as under MPI, without processes.
/// </summary>
public sealed class InMemoryCommunicator : ICommunicator
{
    private readonly InMemoryGroup _group;

    internal InMemoryCommunicator(InMemoryGroup group, int rank)
    {
        _group = group;
        Rank = rank;
    }

    public int Rank { get; }
    public int Size => _group.Size;
    public string Transport => "in-memory";

    public void AllReduceSum(Span<float> values) => Sum(values, "AllReduceSum(float)");
    public void AllReduceSum(Span<double> values) => Sum(values, "AllReduceSum(double)");
    public void AllReduceSum(Span<long> values) => Sum(values, "AllReduceSum(long)");

    private void Sum<T>(Span<T> values, string call) where T : unmanaged, INumber<T>
    {
        var all = Exchange(MemoryMarshal.AsBytes(values).ToArray(), call);
        for (int i = 0; i < values.Length; i++)
        {
            T sum = T.Zero;
            foreach (var part in all) sum += MemoryMarshal.Cast<byte, T>(part)[i];
            values[i] = sum;
        }
        Release(call);
    }

    public void Broadcast(Span<byte> data, int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"Broadcast root must be a rank 0..{Size - 1}.");
        var all = Exchange(data.ToArray(), "Broadcast");
        all[root].CopyTo(data);
        Release("Broadcast");
    }

    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> all)
    {
        if (all.Length != mine.Length * Size)
            throw new ArgumentException($"AllGather: the receive buffer holds {all.Length} bytes; {Size} ranks × {mine.Length} bytes are needed.");
        var parts = Exchange(mine.ToArray(), "AllGather");
        for (int r = 0; r < Size; r++) parts[r].CopyTo(all[(r * mine.Length)..]);
        Release("AllGather");
    }

    public void Barrier()
    {
        Exchange([], "Barrier");
        Release("Barrier");
    }

    /// <summary>Deposits this rank's bytes, waits for all ranks, returns every rank's (in rank order). Counts must agree.</summary>
    private byte[][] Exchange(byte[] mine, string call)
    {
        _group.Slots[Rank] = mine;
        Wait(call);
        var all = _group.Slots.Select(s => s!).ToArray();
        if (all.Any(a => a.Length != mine.Length))
            throw new DistributedException($"{call} on rank {Rank} (in-memory): the ranks passed different sizes ({string.Join(", ", all.Select(a => a.Length))} bytes).");
        return all;
    }

    /// <summary>Waits until every rank has read the deposited data, so the next collective may overwrite it.</summary>
    private void Release(string call) => Wait(call);

    private void Wait(string call)
    {
        bool arrived;
        try { arrived = _group.Barrier.SignalAndWait(_group.Timeout); }
        catch (BarrierPostPhaseException e) { throw new DistributedException($"{call} on rank {Rank} (in-memory) failed: {e.Message}", e); }
        if (!arrived)
            throw new DistributedException($"{call} on rank {Rank} (in-memory): not every rank arrived within {_group.Timeout.TotalSeconds:F0} s; a rank failed or stopped.");
    }

    public void Dispose() { }
}

/// <summary>The shared state of <see cref="InMemoryCommunicator"/>s: one per rank, each used by one thread.</summary>
public sealed class InMemoryGroup : IDisposable
{
    internal readonly Barrier Barrier;
    internal readonly byte[]?[] Slots;

    public InMemoryGroup(int size, TimeSpan? timeout = null)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "A group needs at least one rank.");
        Size = size;
        Timeout = timeout ?? TimeSpan.FromSeconds(60);
        Barrier = new Barrier(size);
        Slots = new byte[size][];
        Communicators = Enumerable.Range(0, size).Select(r => new InMemoryCommunicator(this, r)).ToArray();
    }

    public int Size { get; }
    public TimeSpan Timeout { get; }
    /// <summary>Rank r's communicator at index r.</summary>
    public IReadOnlyList<InMemoryCommunicator> Communicators { get; }

    /// <summary>Runs <paramref name="body"/> once per rank, each on its own thread, and returns the results in rank order; the first failure is rethrown.</summary>
    public T[] Run<T>(Func<ICommunicator, T> body)
    {
        var results = new T[Size];
        Exception? failure = null;
        var threads = Enumerable.Range(0, Size).Select(rank => new Thread(() =>
        {
            try { results[rank] = body(Communicators[rank]); }
            catch (Exception e) { Interlocked.CompareExchange(ref failure, e, null); }
        }) { IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return results;
    }

    public void Dispose() => Barrier.Dispose();
}
