using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Batch normalisation over [N,C] or [N,C,H,W] (kernels/norm.cu): one block per channel for the statistics.
public sealed partial class CudaBackend
{
    /// <summary>[N, C] or [N, C, H, W] as (N, C, H·W); the rank was checked by the contract.</summary>
    private static (int N, int C, int Plane) ChannelLayout(Tensor x)
        => (x.Shape[0], x.Shape[1], x.Rank == 4 ? x.Shape[2] * x.Shape[3] : 1);

    public void BatchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd)
    {
        BackendContract.BatchNormForwardTraining(Device, x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        var (n, c, plane) = ChannelLayout(x);
        LaunchBlocks(CudaKernels.BatchNormTraining, c, A(x), A(gamma), A(beta), A(runningMean), A(runningVar), momentum, eps,
            A(y), A(saveMean), A(saveInvStd), n, c, plane);
    }

    public void BatchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y)
    {
        BackendContract.BatchNormForwardInference(Device, x, gamma, beta, runningMean, runningVar, eps, y);
        var (n, c, plane) = ChannelLayout(x);
        Launch(CudaKernels.BatchNormInference, x.Numel, A(x), A(gamma), A(beta), A(runningMean), A(runningVar), eps, A(y), n, c, plane);
    }

    public void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dgamma, Tensor dbeta)
    {
        BackendContract.BatchNormBackward(Device, dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
        var (n, c, plane) = ChannelLayout(x);
        LaunchBlocks(CudaKernels.BatchNormBackward, c, A(dy), A(x), A(gamma), A(saveMean), A(saveInvStd), A(dx), A(dgamma), A(dbeta), n, c, plane);
    }
}
