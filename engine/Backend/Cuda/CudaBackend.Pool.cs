using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Average pooling (count_include_pad, as PyTorch's default) and global average pooling (kernels/pool.cu).
public sealed partial class CudaBackend
{
    public void AvgPool2dForward(Tensor x, Tensor y, Pool2dGeometry g)
    {
        BackendContract.AvgPool2dForward(Device, x, y, g);
        Launch(CudaKernels.AvgPoolForward, y.Numel, A(x), A(y), g.N * g.C, g.H, g.W, g.KernelH, g.KernelW,
            g.StrideH, g.StrideW, g.PadH, g.PadW, g.OutH, g.OutW);
    }

    public void AvgPool2dBackward(Tensor dy, Tensor dx, Pool2dGeometry g)
    {
        BackendContract.AvgPool2dBackward(Device, dy, dx, g);
        Launch(CudaKernels.AvgPoolBackward, dx.Numel, A(dy), A(dx), g.N * g.C, g.H, g.W, g.KernelH, g.KernelW,
            g.StrideH, g.StrideW, g.PadH, g.PadW, g.OutH, g.OutW);
    }

    public void GlobalAvgPoolForward(Tensor x, Tensor y)
    {
        BackendContract.GlobalAvgPool(nameof(GlobalAvgPoolForward), Device, x, "x", y, "y");
        int planes = x.Shape[0] * x.Shape[1], size = x.Shape[2] * x.Shape[3];
        Launch(CudaKernels.GlobalAvgPoolForward, planes, A(x), A(y), planes, size);
    }

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx)
    {
        BackendContract.GlobalAvgPool(nameof(GlobalAvgPoolBackward), Device, dx, "dx", dy, "dy");
        int planes = dx.Shape[0] * dx.Shape[1], size = dx.Shape[2] * dx.Shape[3];
        Launch(CudaKernels.GlobalAvgPoolBackward, dx.Numel, A(dy), A(dx), planes, size);
    }
}
