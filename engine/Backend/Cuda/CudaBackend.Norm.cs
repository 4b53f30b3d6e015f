using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// BatchNorm, pooling and QCFS.
public sealed partial class CudaBackend
{
    /// <summary>[N, C] or [N, C, H, W] as (N, C, H·W).</summary>
    private static (int N, int C, int Plane) ChannelLayout(Tensor x)
    {
        if (x.Rank != 2 && x.Rank != 4) throw new ArgumentException($"BatchNorm input must be [N, C] or [N, C, H, W], got {x.Shape}.");
        return (x.Shape[0], x.Shape[1], x.Rank == 4 ? x.Shape[2] * x.Shape[3] : 1);
    }

    public void BatchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd)
    {
        var (n, c, plane) = ChannelLayout(x);
        LaunchBlocks(CudaKernels.BatchNormTraining, c, A(x), A(gamma), A(beta), A(runningMean), A(runningVar), momentum, eps,
            A(y), A(saveMean), A(saveInvStd), n, c, plane);
    }

    public void BatchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y)
    {
        var (n, c, plane) = ChannelLayout(x);
        Launch(CudaKernels.BatchNormInference, x.Numel, A(x), A(gamma), A(beta), A(runningMean), A(runningVar), eps, A(y), n, c, plane);
    }

    public void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dgamma, Tensor dbeta)
    {
        var (n, c, plane) = ChannelLayout(x);
        LaunchBlocks(CudaKernels.BatchNormBackward, c, A(dy), A(x), A(gamma), A(saveMean), A(saveInvStd), A(dx), A(dgamma), A(dbeta), n, c, plane);
    }

    public void AvgPool2dForward(Tensor x, Tensor y, Pool2dGeometry g)
        => Launch(CudaKernels.AvgPoolForward, y.Numel, A(x), A(y), g.N * g.C, g.H, g.W, g.KernelH, g.KernelW,
            g.StrideH, g.StrideW, g.PadH, g.PadW, g.OutH, g.OutW);

    public void AvgPool2dBackward(Tensor dy, Tensor dx, Pool2dGeometry g)
        => Launch(CudaKernels.AvgPoolBackward, dx.Numel, A(dy), A(dx), g.N * g.C, g.H, g.W, g.KernelH, g.KernelW,
            g.StrideH, g.StrideW, g.PadH, g.PadW, g.OutH, g.OutW);

    public void GlobalAvgPoolForward(Tensor x, Tensor y)
    {
        int planes = x.Shape[0] * x.Shape[1], size = x.Shape[2] * x.Shape[3];
        Launch(CudaKernels.GlobalAvgPoolForward, planes, A(x), A(y), planes, size);
    }

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx)
    {
        int planes = dx.Shape[0] * dx.Shape[1], size = dx.Shape[2] * dx.Shape[3];
        Launch(CudaKernels.GlobalAvgPoolBackward, dx.Numel, A(dy), A(dx), planes, size);
    }

    public void QcfsForward(Tensor x, Tensor lambda, int levels, Tensor y)
    {
        if (levels < 1) throw new ArgumentException($"QCFS levels must be >= 1, got {levels}.");
        Launch(CudaKernels.QcfsForward, x.Numel, A(x), A(lambda), levels, A(y), x.Numel);
    }

    public void QcfsBackward(Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda)
    {
        if (levels < 1) throw new ArgumentException($"QCFS levels must be >= 1, got {levels}.");
        int n = x.Numel;
        int blocks = (int)Math.Min(Blocks(n), ReductionBlocks);
        using var partials = Rent(blocks * sizeof(double));
        LaunchBlocks(CudaKernels.QcfsBackward, blocks, A(dy), A(x), A(lambda), levels, A(dx), partials.Pointer, n);
        LaunchBlocks(CudaKernels.PartialsToFloat, 1, partials.Pointer, blocks, A(dlambda));
    }
}
