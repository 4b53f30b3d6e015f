using System.Runtime.InteropServices;
using SpikeEngine.Cuda;

namespace SpikeEngine.Distributed;

/// <summary>The NCCL calls the engine uses (nccl.h, libnccl.so.2 as the nvidia-nccl wheels ship it), bound with LibraryImport.</summary>
internal static unsafe partial class Nccl
{
    private const string Lib = CudaLibraries.Nccl;
    public const int Float32 = 7; // ncclFloat32
    public const int Sum = 0;     // ncclSum

    /// <summary>ncclUniqueId: 128 opaque bytes made by one rank and handed to all (here over MPI).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UniqueId
    {
        public const int Bytes = 128;
        public fixed byte Internal[Bytes];
    }

    [LibraryImport(Lib)] public static partial int ncclGetVersion(out int version);
    [LibraryImport(Lib)] public static partial int ncclGetUniqueId(out UniqueId id);
    [LibraryImport(Lib)] public static partial int ncclCommInitRank(out IntPtr comm, int nranks, UniqueId id, int rank);
    [LibraryImport(Lib)] public static partial int ncclCommDestroy(IntPtr comm);
    [LibraryImport(Lib)] public static partial int ncclCommAbort(IntPtr comm);
    [LibraryImport(Lib)] public static partial int ncclAllReduce(ulong send, ulong receive, nuint count, int datatype, int op, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib)] public static partial int ncclGroupStart();
    [LibraryImport(Lib)] public static partial int ncclGroupEnd();
    [LibraryImport(Lib)] public static partial IntPtr ncclGetErrorString(int result);

    public static void Check(int result, string call, int rank)
    {
        if (result == 0) return;
        string detail = "";
        try { detail = Marshal.PtrToStringAnsi(ncclGetErrorString(result)) ?? ""; }
        catch (EntryPointNotFoundException) { }
        throw new DistributedException($"{call} failed on rank {rank}: {ResultName(result)} ({result}){(detail.Length > 0 ? ": " + detail : "")}.");
    }

    public static string ResultName(int result) => result switch
    {
        0 => "ncclSuccess",
        1 => "ncclUnhandledCudaError",
        2 => "ncclSystemError",
        3 => "ncclInternalError",
        4 => "ncclInvalidArgument",
        5 => "ncclInvalidUsage",
        6 => "ncclRemoteError",
        7 => "ncclInProgress",
        _ => "ncclResult_" + result,
    };
}
