using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Clamp (ReLU, Clip) with its gradient, and the strided block copy behind channel concatenation (kernels/elementwise.cu).
public sealed partial class CudaBackend
{
    public void Clamp(Tensor x, float lo, float hi, Tensor y)
    {
        BackendContract.Clamp(Device, x, lo, hi, y);
        Launch(CudaKernels.Clamp, x.Numel, A(x), lo, hi, A(y), x.Numel);
    }

    public void ClampBackward(Tensor dy, Tensor x, float lo, float hi, Tensor dx)
    {
        BackendContract.ClampBackward(Device, dy, x, lo, hi, dx);
        Launch(CudaKernels.ClampBackward, x.Numel, A(dy), A(x), lo, hi, A(dx), x.Numel);
    }

    public void CopyBlocks(Tensor source, int sourceOffset, int sourceStride, Tensor destination, int destinationOffset, int destinationStride, int blocks, int length)
    {
        BackendContract.CopyBlocks(Device, source, sourceOffset, sourceStride, destination, destinationOffset, destinationStride, blocks, length);
        long total = (long)blocks * length;
        if (total == 0) return;
        Launch(CudaKernels.CopyBlocks, total, A(source), sourceOffset, sourceStride, A(destination), destinationOffset, destinationStride, blocks, length);
    }
}
