using System.Runtime.InteropServices;

namespace SpikeEngine.Distributed;

/// <summary>
/// The MPI calls the engine uses, bound to Open MPI's libmpi.so.40 (Debian's libopenmpi3) with LibraryImport.
/// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_ERRORS_RETURN …) are not constants
/// but the addresses of exported objects (mpi.h: <c>#define MPI_FLOAT OMPI_PREDEFINED_GLOBAL(MPI_Datatype, ompi_mpi_float)</c>),
/// so <see cref="Handles"/> looks them up with <see cref="NativeLibrary.GetExport"/>.
/// </summary>
internal static unsafe partial class Mpi
{
    public const string Library = "libmpi.so.40";
    /// <summary>MPI_THREAD_SERIALIZED: any thread may call, one at a time (the engine's collectives run on the training thread).</summary>
    public const int ThreadSerialized = 2;
    /// <summary>Open MPI's MPI_IN_PLACE is ((void *) 1).</summary>
    public static readonly void* InPlace = (void*)1;

    [LibraryImport(Library)] public static partial int MPI_Initialized(out int flag);
    [LibraryImport(Library)] public static partial int MPI_Finalized(out int flag);
    [LibraryImport(Library)] public static partial int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);
    [LibraryImport(Library)] public static partial int MPI_Finalize();
    [LibraryImport(Library)] public static partial int MPI_Abort(IntPtr comm, int errorCode);
    [LibraryImport(Library)] public static partial int MPI_Comm_rank(IntPtr comm, out int rank);
    [LibraryImport(Library)] public static partial int MPI_Comm_size(IntPtr comm, out int size);
    [LibraryImport(Library)] public static partial int MPI_Comm_set_errhandler(IntPtr comm, IntPtr errhandler);
    [LibraryImport(Library)] public static partial int MPI_Allreduce(void* send, void* receive, int count, IntPtr datatype, IntPtr op, IntPtr comm);
    [LibraryImport(Library)] public static partial int MPI_Bcast(void* buffer, int count, IntPtr datatype, int root, IntPtr comm);
    [LibraryImport(Library)] public static partial int MPI_Allgather(void* send, int sendCount, IntPtr sendType, void* receive, int receiveCount, IntPtr receiveType, IntPtr comm);
    [LibraryImport(Library)] public static partial int MPI_Barrier(IntPtr comm);
    [LibraryImport(Library)] public static partial int MPI_Error_string(int errorCode, byte* text, out int length);

    /// <summary>Open MPI's predefined objects, by the addresses of their exported symbols.</summary>
    public sealed class Handles
    {
        public IntPtr CommWorld { get; private init; }
        public IntPtr Float { get; private init; }
        public IntPtr Double { get; private init; }
        public IntPtr Int64 { get; private init; }
        public IntPtr Byte { get; private init; }
        public IntPtr Sum { get; private init; }
        public IntPtr ErrorsReturn { get; private init; }

        public static Handles Load()
        {
            IntPtr lib;
            try { lib = NativeLibrary.Load(Library, typeof(Mpi).Assembly, null); }
            catch (DllNotFoundException e)
            {
                throw new DistributedException($"MPI: {Library} (Open MPI) cannot be loaded: {e.Message.TrimEnd('.')}. Install it (Debian: apt-get install openmpi-bin) or run without mpirun / with --distributed none.", e);
            }
            IntPtr Export(string name) => NativeLibrary.TryGetExport(lib, name, out var address) ? address
                : throw new DistributedException($"MPI: {Library} does not export {name}; the engine binds Open MPI (4.x), not another MPI.");
            return new Handles
            {
                CommWorld = Export("ompi_mpi_comm_world"), Float = Export("ompi_mpi_float"), Double = Export("ompi_mpi_double"),
                Int64 = Export("ompi_mpi_int64_t"), Byte = Export("ompi_mpi_byte"), Sum = Export("ompi_mpi_op_sum"),
                ErrorsReturn = Export("ompi_mpi_errors_return"),
            };
        }
    }

    /// <summary>Throws a <see cref="DistributedException"/> naming the call and MPI's own text for a non-zero code.</summary>
    public static void Check(int code, string call, int rank)
    {
        if (code != 0) throw new DistributedException($"{call} failed on rank {rank}: {ErrorText(code)} (MPI error {code}).");
    }

    public static string ErrorText(int code)
    {
        var buffer = new byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        try
        {
            fixed (byte* p = buffer)
                if (MPI_Error_string(code, p, out int length) == 0 && length > 0)
                    return System.Text.Encoding.ASCII.GetString(buffer, 0, Math.Min(length, buffer.Length));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return "MPI_ERR_" + code;
    }
}
