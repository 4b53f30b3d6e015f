using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// QCFS activation (kernels/qcfs.cu); the λ gradient is reduced in block partials, then into one float.
public sealed partial class CudaBackend
{
    public void QcfsForward(Tensor x, Tensor lambda, int levels, Tensor y)
    {
        BackendContract.QcfsForward(Device, x, lambda, levels, y);
        Launch(CudaKernels.QcfsForward, x.Numel, A(x), A(lambda), levels, A(y), x.Numel);
    }

    public void QcfsBackward(Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda)
    {
        BackendContract.QcfsBackward(Device, dy, x, lambda, levels, dx, dlambda);
        int n = x.Numel;
        int blocks = (int)Math.Min(Blocks(n), ReductionBlocks);
        using var partials = Rent(blocks * sizeof(double));
        LaunchBlocks(CudaKernels.QcfsBackward, blocks, A(dy), A(x), A(lambda), levels, A(dx), partials.Pointer, n);
        LaunchBlocks(CudaKernels.PartialsToFloat, 1, partials.Pointer, blocks, A(dlambda));
    }
}
