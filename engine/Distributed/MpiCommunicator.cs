using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SpikeEngine.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over MPI_COMM_WORLD (Open MPI). Errors return instead of aborting
/// (MPI_ERRORS_RETURN) and become <see cref="DistributedException"/>s naming the call. A watchdog thread ends
/// the whole job (MPI_Abort, with a message on stderr) when one collective waits longer than
/// <see cref="Timeout"/>: a rank that hangs or vanished without the launcher noticing does not leave the others
/// waiting forever. (A rank that dies is noticed by mpirun/srun, which ends the others within seconds.)
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private readonly Mpi.Handles _h;
    private readonly object _gate = new();
    private readonly Thread _watchdog;
    private string? _inFlight;
    private long _since;
    private volatile bool _closed;

    private MpiCommunicator(Mpi.Handles handles, int rank, int size, TimeSpan timeout)
    {
        _h = handles;
        Rank = rank;
        Size = size;
        Timeout = timeout;
        _watchdog = new Thread(Watch) { IsBackground = true, Name = "MPI watchdog" };
        _watchdog.Start();
    }

    public int Rank { get; }
    public int Size { get; }
    public string Transport => "mpi";
    /// <summary>How long one collective may wait for the other ranks before the job is aborted.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Initialises MPI (MPI_Init_thread, serialized) unless already done, sets MPI_ERRORS_RETURN on MPI_COMM_WORLD.</summary>
    public static MpiCommunicator Initialize(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The collective timeout must be positive.");
        var h = Mpi.Handles.Load();
        Mpi.Check(Mpi.MPI_Initialized(out int initialized), "MPI_Initialized", -1);
        if (initialized == 0)
        {
            Mpi.Check(Mpi.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, Mpi.ThreadSerialized, out int provided), "MPI_Init_thread", -1);
            if (provided < Mpi.ThreadSerialized)
                throw new DistributedException($"MPI_Init_thread: this MPI provides thread level {provided}; the engine needs MPI_THREAD_SERIALIZED ({Mpi.ThreadSerialized}).");
        }
        Mpi.Check(Mpi.MPI_Comm_set_errhandler(h.CommWorld, h.ErrorsReturn), "MPI_Comm_set_errhandler", -1);
        Mpi.Check(Mpi.MPI_Comm_rank(h.CommWorld, out int rank), "MPI_Comm_rank", -1);
        Mpi.Check(Mpi.MPI_Comm_size(h.CommWorld, out int size), "MPI_Comm_size", rank);
        return new MpiCommunicator(h, rank, size, timeout);
    }

    public void AllReduceSum(Span<float> values)
    {
        int n = values.Length;
        fixed (float* p = values) { nint a = (nint)p; Run("MPI_Allreduce", () => Mpi.MPI_Allreduce(Mpi.InPlace, (void*)a, n, _h.Float, _h.Sum, _h.CommWorld)); }
    }

    public void AllReduceSum(Span<double> values)
    {
        int n = values.Length;
        fixed (double* p = values) { nint a = (nint)p; Run("MPI_Allreduce", () => Mpi.MPI_Allreduce(Mpi.InPlace, (void*)a, n, _h.Double, _h.Sum, _h.CommWorld)); }
    }

    public void AllReduceSum(Span<long> values)
    {
        int n = values.Length;
        fixed (long* p = values) { nint a = (nint)p; Run("MPI_Allreduce", () => Mpi.MPI_Allreduce(Mpi.InPlace, (void*)a, n, _h.Int64, _h.Sum, _h.CommWorld)); }
    }

    public void Broadcast(Span<byte> data, int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"Broadcast root must be a rank 0..{Size - 1}.");
        int n = data.Length;
        fixed (byte* p = data) { nint a = (nint)p; Run("MPI_Bcast", () => Mpi.MPI_Bcast((void*)a, n, _h.Byte, root, _h.CommWorld)); }
    }

    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> all)
    {
        if (all.Length != (long)mine.Length * Size)
            throw new ArgumentException($"AllGather: the receive buffer holds {all.Length} bytes; {Size} ranks × {mine.Length} bytes are needed.");
        int n = mine.Length;
        fixed (byte* s = mine)
        fixed (byte* r = all)
        {
            nint a = (nint)s, b = (nint)r;
            Run("MPI_Allgather", () => Mpi.MPI_Allgather((void*)a, n, _h.Byte, (void*)b, n, _h.Byte, _h.CommWorld));
        }
    }

    public void Barrier() => Run("MPI_Barrier", () => Mpi.MPI_Barrier(_h.CommWorld));

    /// <summary>Ends every rank of the job now (MPI_Abort) with <paramref name="exitCode"/>: the way out after an error on one rank.</summary>
    public void Abort(int exitCode)
    {
        _closed = true;
        Mpi.MPI_Abort(_h.CommWorld, exitCode);
    }

    /// <summary>Runs one collective with the watchdog watching it; a non-zero MPI code throws with the call's name.</summary>
    private void Run(string call, Func<int> body)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        lock (_gate)
        {
            _since = Stopwatch.GetTimestamp();
            _inFlight = call;
            try { Mpi.Check(body(), call, Rank); }
            finally { _inFlight = null; }
        }
    }

    private void Watch()
    {
        while (!_closed)
        {
            Thread.Sleep(500);
            var call = _inFlight;
            if (call is null || _closed) continue;
            var waited = Stopwatch.GetElapsedTime(_since);
            if (waited < Timeout) continue;
            Console.Error.WriteLine($"error: rank {Rank}: {call} waited {waited.TotalSeconds:F0} s for the other ranks (limit {Timeout.TotalSeconds:F0} s, --dist_timeout): " +
                                    "a rank stopped or hangs; aborting every rank.");
            Console.Error.Flush();
            Abort(1);
            return;
        }
    }

    /// <summary>MPI_Finalize (collective: call it on every rank, after the last collective, on success only; after an error use <see cref="Abort"/>).</summary>
    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        if (Mpi.MPI_Finalized(out int finalized) == 0 && finalized == 0)
            Mpi.Check(Mpi.MPI_Finalize(), "MPI_Finalize", Rank);
    }
}
