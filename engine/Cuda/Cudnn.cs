using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda;

/// <summary>
/// The cuDNN calls for 2-D convolutions (cudnn.h; legacy descriptor API, present in cuDNN 8 and 9), bound
/// with LibraryImport. Optional: where libcudnn is absent the backend uses its own kernels only.
/// </summary>
internal static unsafe partial class Cudnn
{
    private const string Lib = CudaLibraries.Cudnn;
    public const int TensorNchw = 0;          // CUDNN_TENSOR_NCHW
    public const int DataFloat = 0;           // CUDNN_DATA_FLOAT
    public const int CrossCorrelation = 1;    // CUDNN_CROSS_CORRELATION (what deep-learning "convolution" means)
    public const int FmaMath = 3;             // CUDNN_FMA_MATH: FP32 FMA only, no TF32 tensor cores
    public const int ForwardImplicitPrecompGemm = 1;  // CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM
    public const int BackwardDataAlgo1 = 1;           // CUDNN_CONVOLUTION_BWD_DATA_ALGO_1
    public const int BackwardFilterAlgo1 = 1;         // CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1

    [LibraryImport(Lib)] public static partial nuint cudnnGetVersion();
    [LibraryImport(Lib)] public static partial IntPtr cudnnGetErrorString(int status);
    [LibraryImport(Lib)] public static partial int cudnnCreate(out IntPtr handle);
    [LibraryImport(Lib)] public static partial int cudnnDestroy(IntPtr handle);
    [LibraryImport(Lib)] public static partial int cudnnSetStream(IntPtr handle, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cudnnCreateTensorDescriptor(out IntPtr descriptor);
    [LibraryImport(Lib)] public static partial int cudnnSetTensor4dDescriptor(IntPtr descriptor, int format, int dataType, int n, int c, int h, int w);
    [LibraryImport(Lib)] public static partial int cudnnDestroyTensorDescriptor(IntPtr descriptor);
    [LibraryImport(Lib)] public static partial int cudnnCreateFilterDescriptor(out IntPtr descriptor);
    [LibraryImport(Lib)] public static partial int cudnnSetFilter4dDescriptor(IntPtr descriptor, int dataType, int format, int k, int c, int h, int w);
    [LibraryImport(Lib)] public static partial int cudnnDestroyFilterDescriptor(IntPtr descriptor);
    [LibraryImport(Lib)] public static partial int cudnnCreateConvolutionDescriptor(out IntPtr descriptor);
    [LibraryImport(Lib)] public static partial int cudnnSetConvolution2dDescriptor(IntPtr descriptor, int padH, int padW,
        int strideH, int strideW, int dilationH, int dilationW, int mode, int computeType);
    [LibraryImport(Lib)] public static partial int cudnnSetConvolutionMathType(IntPtr descriptor, int mathType);
    [LibraryImport(Lib)] public static partial int cudnnDestroyConvolutionDescriptor(IntPtr descriptor);
    [LibraryImport(Lib)] public static partial int cudnnGetConvolutionForwardWorkspaceSize(IntPtr handle, IntPtr x, IntPtr w,
        IntPtr conv, IntPtr y, int algo, out nuint bytes);
    [LibraryImport(Lib)] public static partial int cudnnConvolutionForward(IntPtr handle, float* alpha, IntPtr xDesc, ulong x,
        IntPtr wDesc, ulong w, IntPtr conv, int algo, ulong workspace, nuint workspaceBytes, float* beta, IntPtr yDesc, ulong y);
    [LibraryImport(Lib)] public static partial int cudnnGetConvolutionBackwardDataWorkspaceSize(IntPtr handle, IntPtr w, IntPtr dy,
        IntPtr conv, IntPtr dx, int algo, out nuint bytes);
    [LibraryImport(Lib)] public static partial int cudnnConvolutionBackwardData(IntPtr handle, float* alpha, IntPtr wDesc, ulong w,
        IntPtr dyDesc, ulong dy, IntPtr conv, int algo, ulong workspace, nuint workspaceBytes, float* beta, IntPtr dxDesc, ulong dx);
    [LibraryImport(Lib)] public static partial int cudnnGetConvolutionBackwardFilterWorkspaceSize(IntPtr handle, IntPtr x, IntPtr dy,
        IntPtr conv, IntPtr dw, int algo, out nuint bytes);
    [LibraryImport(Lib)] public static partial int cudnnConvolutionBackwardFilter(IntPtr handle, float* alpha, IntPtr xDesc, ulong x,
        IntPtr dyDesc, ulong dy, IntPtr conv, int algo, ulong workspace, nuint workspaceBytes, float* beta, IntPtr dwDesc, ulong dw);

    public static void Check(int status, string call)
    {
        if (status == 0) return;
        string? description = null;
        try { description = Marshal.PtrToStringUTF8(cudnnGetErrorString(status)); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        throw new CudaException(call, status, StatusName(status), description);
    }

    public static string StatusName(int status) => status switch
    {
        0 => "CUDNN_STATUS_SUCCESS",
        1 => "CUDNN_STATUS_NOT_INITIALIZED",
        2 => "CUDNN_STATUS_ALLOC_FAILED",
        3 => "CUDNN_STATUS_BAD_PARAM",
        4 => "CUDNN_STATUS_INTERNAL_ERROR",
        5 => "CUDNN_STATUS_INVALID_VALUE",
        6 => "CUDNN_STATUS_ARCH_MISMATCH",
        8 => "CUDNN_STATUS_EXECUTION_FAILED",
        9 => "CUDNN_STATUS_NOT_SUPPORTED",
        _ => "CUDNN_STATUS_" + status // cuDNN 9 uses sub-codes such as 2000 (BAD_PARAM family); the description says more
    };
}
