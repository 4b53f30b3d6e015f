using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda;

/// <summary>The cuBLAS v2 calls the engine uses (cublas_api.h), bound with LibraryImport. Column-major, as cuBLAS is.</summary>
internal static unsafe partial class Cublas
{
    private const string Lib = CudaLibraries.Cublas;
    public const int OpN = 0; // CUBLAS_OP_N
    public const int OpT = 1; // CUBLAS_OP_T

    [LibraryImport(Lib)] public static partial int cublasCreate_v2(out IntPtr handle);
    [LibraryImport(Lib)] public static partial int cublasDestroy_v2(IntPtr handle);
    [LibraryImport(Lib)] public static partial int cublasSetStream_v2(IntPtr handle, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cublasGetVersion_v2(IntPtr handle, out int version);
    [LibraryImport(Lib)] public static partial int cublasSgemm_v2(IntPtr handle, int transA, int transB, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);
    [LibraryImport(Lib)] public static partial int cublasSgemmStridedBatched(IntPtr handle, int transA, int transB, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(call, status, StatusName(status));
    }

    public static string StatusName(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => "CUBLAS_STATUS_" + status
    };
}
