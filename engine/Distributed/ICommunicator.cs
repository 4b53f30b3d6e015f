namespace SpikeEngine.Distributed;

/// <summary>
/// The processes (ranks) of one run and the collectives the engine needs between them, on host memory.
/// Every rank must call the same collectives in the same order with the same element counts; a sum is the
/// same on every rank (the implementations reduce in one order and hand every rank that one result).
/// Implementations: <see cref="MpiCommunicator"/> (processes started by mpirun/srun) and
/// <see cref="InMemoryCommunicator"/> (threads of one process, for tests). A single-process run has none.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0..<see cref="Size"/>−1; rank 0 prints and writes files.</summary>
    int Rank { get; }
    /// <summary>How many ranks share the work.</summary>
    int Size { get; }
    /// <summary>"mpi" or "in-memory" (for messages).</summary>
    string Transport { get; }

    /// <summary>Replaces <paramref name="values"/> on every rank by their element-wise sum over the ranks.</summary>
    void AllReduceSum(Span<float> values);
    void AllReduceSum(Span<double> values);
    void AllReduceSum(Span<long> values);
    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="data"/> into every other rank's.</summary>
    void Broadcast(Span<byte> data, int root);
    /// <summary><paramref name="all"/> (Size × mine.Length bytes) receives every rank's <paramref name="mine"/> in rank order.</summary>
    void AllGather(ReadOnlySpan<byte> mine, Span<byte> all);
    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}

/// <summary>A collective failed or timed out; the message names the call, the transport and the rank.</summary>
public sealed class DistributedException(string message, Exception? inner = null) : Exception(message, inner);
