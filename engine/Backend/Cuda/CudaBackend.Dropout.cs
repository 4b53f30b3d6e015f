using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Inverted dropout with the counter-based mask of CpuBackend.Dropout.cs (kernels/dropout.cu).
public sealed partial class CudaBackend
{
    public void DropoutForward(Tensor x, float p, ulong seed, Tensor y, Tensor mask)
    {
        BackendContract.DropoutForward(Device, x, p, y, mask);
        Launch(CudaKernels.Dropout, x.Numel, A(x), p, seed, A(y), A(mask), x.Numel);
    }
}
