using SpikeEngine.Backend;
using SpikeEngine.Backend.Cuda;
using SpikeEngine.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Distributed;

/// <summary>
/// Sums of CUDA tensors over the ranks with NCCL, one rank per GPU. Rank 0 makes the NCCL unique id and the
/// host communicator (MPI) hands it to the others; the collectives are queued on the engine's CUDA stream
/// of <see cref="Device"/>, after the kernels that produced the data and before those that use it, so no
/// synchronisation is needed. NCCL refuses two ranks on one GPU (ncclInvalidUsage, "Duplicate GPU detected").
/// </summary>
public sealed class NcclCommunicator : IDisposable
{
    private readonly CudaBackend _backend;
    private IntPtr _comm;

    private NcclCommunicator(CudaBackend backend, IntPtr comm, int rank, int size)
    {
        _backend = backend;
        _comm = comm;
        Rank = rank;
        Size = size;
    }

    public int Rank { get; }
    public int Size { get; }
    public Device Device => _backend.Device;

    /// <summary>Why NCCL cannot be used here (library not found, emulated device), or null when it loads.</summary>
    public static string? UnavailableReason() =>
        CudaLibraries.TryLoad(CudaLibraries.Nccl, out _, out var error) ? null : $"NCCL: {error}";

    /// <summary>Joins the ranks of <paramref name="host"/> into one NCCL communicator on <paramref name="device"/> (collective over <paramref name="host"/>).</summary>
    public static unsafe NcclCommunicator Create(ICommunicator host, Device device)
    {
        if (device.Kind != DeviceKind.Cuda) throw new ArgumentException($"NCCL needs a CUDA device; got {device}.");
        if (Backends.For(device) is not CudaBackend backend) throw new ArgumentException($"{device} is not served by the CUDA backend.");
        if (UnavailableReason() is { } why) throw new DistributedException(why);
        Nccl.UniqueId id = default;
        if (host.Rank == 0) Nccl.Check(Nccl.ncclGetUniqueId(out id), "ncclGetUniqueId", host.Rank);
        host.Broadcast(new Span<byte>(id.Internal, Nccl.UniqueId.Bytes), 0);
        backend.Context.MakeCurrent();
        Nccl.Check(Nccl.ncclCommInitRank(out var comm, host.Size, id, host.Rank), "ncclCommInitRank", host.Rank);
        return new NcclCommunicator(backend, comm, host.Rank, host.Size);
    }

    /// <summary>NCCL's version as a number (e.g. 22703 for 2.27.3).</summary>
    public static int Version()
    {
        Nccl.Check(Nccl.ncclGetVersion(out int v), "ncclGetVersion", -1);
        return v;
    }

    /// <summary>Replaces every tensor (all on <see cref="Device"/>) by its sum over the ranks: one grouped NCCL launch on the engine's stream.</summary>
    public void AllReduceSum(IReadOnlyList<Tensor> tensors)
    {
        ObjectDisposedException.ThrowIf(_comm == IntPtr.Zero, this);
        foreach (var t in tensors)
            if (t.Device != Device) throw new ArgumentException($"NCCL all-reduce: {t} is not on {Device}.");
        _backend.Context.MakeCurrent();
        Nccl.Check(Nccl.ncclGroupStart(), "ncclGroupStart", Rank);
        int result = 0;
        try
        {
            foreach (var t in tensors)
            {
                ulong address = ((CudaStorage)t.Storage).Pointer.Address;
                result = Nccl.ncclAllReduce(address, address, (nuint)t.Numel, Nccl.Float32, Nccl.Sum, _comm, _backend.Context.Stream);
                if (result != 0) break;
            }
        }
        finally
        {
            int end = Nccl.ncclGroupEnd();
            if (result == 0) result = end;
        }
        Nccl.Check(result, "ncclAllReduce", Rank);
    }

    /// <summary>ncclCommDestroy after the queued work is done.</summary>
    public void Dispose()
    {
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm == IntPtr.Zero) return;
        _backend.Synchronize();
        Nccl.Check(Nccl.ncclCommDestroy(comm), "ncclCommDestroy", Rank);
    }
}
