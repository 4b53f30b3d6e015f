using SpikeEngine.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// cuDNN convolutions: the yardstick our own conv path is benchmarked and tested against, and an option
// (UseCudnn) where it is faster. Strict FP32 (CUDNN_FMA_MATH), fixed algorithms that support every geometry.
public sealed partial class CudaBackend
{
    private IntPtr _cudnn;
    private bool _cudnnProbed;
    private string? _cudnnReason;
    private readonly Dictionary<Conv2dGeometry, ConvDescriptors> _convDescriptors = new();

    /// <summary>Route Conv2d forward/backward through cuDNN (when <see cref="CudnnAvailable"/>) instead of im2col + SGEMM.</summary>
    public bool UseCudnn { get; set; }

    /// <summary>Whether libcudnn was found and initialised (loads it on first use).</summary>
    public bool CudnnAvailable => CudnnUnavailableReason is null;

    /// <summary>Null when cuDNN works here, otherwise why not (one line).</summary>
    public string? CudnnUnavailableReason
    {
        get
        {
            if (_cudnnProbed) return _cudnnReason;
            _cudnnProbed = true;
            if (_context.IsEmulated) return _cudnnReason = CudaLibraries.CudnnAbsentUnderEmulator;
            if (!CudaLibraries.TryLoad(CudaLibraries.Cudnn, out _, out var why)) return _cudnnReason = $"no cuDNN ({why})";
            try
            {
                _context.MakeCurrent();
                Cudnn.Check(Cudnn.cudnnCreate(out _cudnn), "cudnnCreate");
                Cudnn.Check(Cudnn.cudnnSetStream(_cudnn, _context.Stream), "cudnnSetStream");
            }
            catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
            {
                _cudnn = IntPtr.Zero;
                return _cudnnReason = "cuDNN failed to start: " + e.Message;
            }
            return null;
        }
    }

    public long CudnnVersion => CudnnAvailable ? (long)Cudnn.cudnnGetVersion() : 0;

    private IntPtr CudnnHandle => CudnnUnavailableReason is { } why ? throw new InvalidOperationException(why) : _cudnn;

    private sealed class ConvDescriptors : IDisposable
    {
        public IntPtr X, W, Y, Conv;

        public ConvDescriptors(Conv2dGeometry g)
        {
            Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(out X), "cudnnCreateTensorDescriptor");
            Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(X, Cudnn.TensorNchw, Cudnn.DataFloat, g.N, g.C, g.H, g.W), "cudnnSetTensor4dDescriptor(x)");
            Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(out Y), "cudnnCreateTensorDescriptor");
            Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(Y, Cudnn.TensorNchw, Cudnn.DataFloat, g.N, g.K, g.OutH, g.OutW), "cudnnSetTensor4dDescriptor(y)");
            Cudnn.Check(Cudnn.cudnnCreateFilterDescriptor(out W), "cudnnCreateFilterDescriptor");
            Cudnn.Check(Cudnn.cudnnSetFilter4dDescriptor(W, Cudnn.DataFloat, Cudnn.TensorNchw, g.K, g.C, g.R, g.S), "cudnnSetFilter4dDescriptor");
            Cudnn.Check(Cudnn.cudnnCreateConvolutionDescriptor(out Conv), "cudnnCreateConvolutionDescriptor");
            Cudnn.Check(Cudnn.cudnnSetConvolution2dDescriptor(Conv, g.PadH, g.PadW, g.StrideH, g.StrideW, 1, 1,
                Cudnn.CrossCorrelation, Cudnn.DataFloat), "cudnnSetConvolution2dDescriptor");
            Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(Conv, Cudnn.FmaMath), "cudnnSetConvolutionMathType");
        }

        public void Dispose()
        {
            Cudnn.cudnnDestroyTensorDescriptor(X);
            Cudnn.cudnnDestroyTensorDescriptor(Y);
            Cudnn.cudnnDestroyFilterDescriptor(W);
            Cudnn.cudnnDestroyConvolutionDescriptor(Conv);
        }
    }

    private ConvDescriptors Descriptors(Conv2dGeometry g)
    {
        lock (_convDescriptors)
        {
            if (!_convDescriptors.TryGetValue(g, out var d)) _convDescriptors[g] = d = new ConvDescriptors(g);
            return d;
        }
    }

    public unsafe void CudnnConvolutionForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g)
    {
        BackendContract.Conv2dForward(Device, x, w, bias, y, g);
        var handle = CudnnHandle;
        var d = Descriptors(g);
        _context.MakeCurrent();
        Cudnn.Check(Cudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, d.X, d.W, d.Conv, d.Y, Cudnn.ForwardImplicitPrecompGemm, out var bytes),
            "cudnnGetConvolutionForwardWorkspaceSize");
        using var workspace = Rent((long)bytes);
        float alpha = 1f, beta = 0f;
        Cudnn.Check(Cudnn.cudnnConvolutionForward(handle, &alpha, d.X, P(x, "x").Address, d.W, P(w, "weight").Address, d.Conv,
            Cudnn.ForwardImplicitPrecompGemm, workspace.Pointer.Address, bytes, &beta, d.Y, P(y, "y").Address), "cudnnConvolutionForward");
        if (bias is not null) Launch(CudaKernels.AddChannelBias, y.Numel, A(y), A(bias), g.N, g.K, g.OutH * g.OutW);
    }

    public unsafe void CudnnConvolutionBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g)
    {
        BackendContract.Conv2dBackwardData(Device, dy, w, dx, g);
        var handle = CudnnHandle;
        var d = Descriptors(g);
        _context.MakeCurrent();
        Cudnn.Check(Cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.W, d.Y, d.Conv, d.X, Cudnn.BackwardDataAlgo1, out var bytes),
            "cudnnGetConvolutionBackwardDataWorkspaceSize");
        using var workspace = Rent((long)bytes);
        float alpha = 1f, beta = 0f;
        Cudnn.Check(Cudnn.cudnnConvolutionBackwardData(handle, &alpha, d.W, P(w, "weight").Address, d.Y, P(dy, "dy").Address, d.Conv,
            Cudnn.BackwardDataAlgo1, workspace.Pointer.Address, bytes, &beta, d.X, P(dx, "dx").Address), "cudnnConvolutionBackwardData");
    }

    public unsafe void CudnnConvolutionBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g)
    {
        BackendContract.Conv2dBackwardWeight(Device, x, dy, dw, dbias, g);
        var handle = CudnnHandle;
        var d = Descriptors(g);
        _context.MakeCurrent();
        Cudnn.Check(Cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, d.X, d.Y, d.Conv, d.W, Cudnn.BackwardFilterAlgo1, out var bytes),
            "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        using var workspace = Rent((long)bytes);
        float alpha = 1f, beta = 0f;
        Cudnn.Check(Cudnn.cudnnConvolutionBackwardFilter(handle, &alpha, d.X, P(x, "x").Address, d.Y, P(dy, "dy").Address, d.Conv,
            Cudnn.BackwardFilterAlgo1, workspace.Pointer.Address, bytes, &beta, d.W, P(dw, "dw").Address), "cudnnConvolutionBackwardFilter");
        if (dbias is not null) LaunchBlocks(CudaKernels.ChannelSums, g.K, A(dy), A(dbias), g.N, g.K, g.OutH * g.OutW);
    }

    private void DisposeCudnn()
    {
        lock (_convDescriptors)
        {
            foreach (var d in _convDescriptors.Values) d.Dispose();
            _convDescriptors.Clear();
        }
        if (_cudnn != IntPtr.Zero) Cudnn.cudnnDestroy(_cudnn);
        _cudnn = IntPtr.Zero;
    }
}
