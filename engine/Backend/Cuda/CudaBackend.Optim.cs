using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Optimiser update rules (kernels/optim.cu).
public sealed partial class CudaBackend
{
    public void SgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay, bool firstStep)
    {
        BackendContract.SgdUpdate(Device, param, grad, momentumBuffer, lr, momentum, weightDecay);
        Launch(CudaKernels.Sgd, param.Numel, A(param), A(grad), A(momentumBuffer), lr, momentum, weightDecay, firstStep ? 1 : 0, param.Numel);
    }
}
