using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Distributed;

/// <summary>
/// The ranks of a job started by mpirun or srun, as one object for a front end: opened once at start
/// (<see cref="Open"/>: MPI, and NCCL on demand), closed once at the end (<see cref="Dispose"/> after success,
/// <see cref="Fail"/> after an error, which ends every rank at once instead of leaving them waiting).
/// </summary>
public sealed class DistributedRun : IDisposable
{
    private readonly MpiCommunicator? _mpi;
    private NcclCommunicator? _nccl;

    public DistributedRun(ICommunicator ranks, LaunchInfo launch)
    {
        Ranks = ranks;
        Launch = launch;
        _mpi = ranks as MpiCommunicator;
    }

    public ICommunicator Ranks { get; }
    public LaunchInfo Launch { get; }
    public bool IsRoot => Ranks.Rank == 0;

    /// <summary>
    /// Joins the job <paramref name="launch"/> describes over MPI, with <paramref name="timeout"/> as the longest wait
    /// of one collective; checks that MPI sees the same ranks as the launcher's variables.
    /// </summary>
    public static DistributedRun Open(LaunchInfo launch, TimeSpan timeout)
    {
        var mpi = MpiCommunicator.Initialize(timeout);
        if (mpi.Size != launch.Size || mpi.Rank != launch.Rank)
        {
            mpi.Abort(1);
            throw new DistributedException($"{launch.Launcher} started {launch.Size} ranks (this one {launch.Rank}) but MPI sees {mpi.Size} (this one {mpi.Rank}): " +
                                           "the launcher and libmpi.so.40 (Open MPI) are from different MPI installations.");
        }
        return new DistributedRun(mpi, launch);
    }

    /// <summary>The device of this rank: a plain "cuda" means one GPU per rank, cuda:(local rank); anything else as given.</summary>
    public Device DeviceFor(Device requested, bool ordinalGiven) =>
        requested.Kind == DeviceKind.Cuda && !ordinalGiven ? Device.Cuda(Launch.LocalRank) : requested;

    /// <summary>
    /// The data-parallel trainer hook for <paramref name="device"/>: CUDA gradients are summed by NCCL (one
    /// communicator, made on first use) when it loads, else through host memory over MPI.
    /// </summary>
    public DataParallel Parallel(Device device, bool syncBatchNorm, bool checkReplicas)
    {
        // A collective decision (every rank sees the same gathered devices): NCCL only with one GPU per rank.
        if (device.Kind == DeviceKind.Cuda && _nccl is null && NcclCommunicator.UnavailableReason() is null && !GpuShared(device))
            _nccl = NcclCommunicator.Create(Ranks, device);
        return new DataParallel(Ranks, _nccl) { SyncBatchNorm = syncBatchNorm, CheckReplicas = checkReplicas };
    }

    /// <summary>Whether another rank uses the same GPU on the same machine (NCCL refuses that: "Duplicate GPU detected").</summary>
    private bool GpuShared(Device device)
    {
        ulong key = 14695981039346656037UL;
        foreach (char c in $"{Environment.MachineName}/{device}") key = (key ^ c) * 1099511628211UL;
        var all = new byte[8 * Ranks.Size];
        Ranks.AllGather(BitConverter.GetBytes(key), all);
        var keys = Enumerable.Range(0, Ranks.Size).Select(r => BitConverter.ToUInt64(all, 8 * r)).ToList();
        return keys.Distinct().Count() < keys.Count;
    }

    /// <summary>Ends every rank of the job now with <paramref name="exitCode"/> (after this rank failed).</summary>
    public void Fail(int exitCode)
    {
        if (_mpi is not null) _mpi.Abort(exitCode);
    }

    /// <summary>Closes NCCL, then MPI (every rank must get here).</summary>
    public void Dispose()
    {
        _nccl?.Dispose();
        Ranks.Dispose();
    }
}
