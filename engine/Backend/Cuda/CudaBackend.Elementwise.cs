using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Elementwise ops and the deterministic sum (kernels/elementwise.cu).
public sealed partial class CudaBackend
{
    public void Add(Tensor a, Tensor b, Tensor y)
    {
        BackendContract.Binary(nameof(Add), Device, a, b, y);
        Launch(CudaKernels.Add, y.Numel, A(a), A(b), A(y), y.Numel);
    }

    public void Mul(Tensor a, Tensor b, Tensor y)
    {
        BackendContract.Binary(nameof(Mul), Device, a, b, y);
        Launch(CudaKernels.Mul, y.Numel, A(a), A(b), A(y), y.Numel);
    }

    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        BackendContract.Unary(nameof(Axpy), Device, x, y);
        Launch(CudaKernels.Axpy, y.Numel, alpha, A(x), A(y), y.Numel);
    }

    public void Scale(Tensor x, float alpha, Tensor y)
    {
        BackendContract.Unary(nameof(Scale), Device, x, y);
        Launch(CudaKernels.Scale, y.Numel, A(x), alpha, A(y), y.Numel);
    }

    public double Sum(Tensor x)
    {
        BackendContract.Sum(Device, x);
        int n = x.Numel;
        if (n == 0) return 0;
        int blocks = (int)Math.Min(Blocks(n), ReductionBlocks);
        using var partials = Rent(blocks * sizeof(double));
        LaunchBlocks(CudaKernels.SumPartials, blocks, A(x), n, partials.Pointer);
        var host = new double[blocks];
        _context.CopyDeviceToHost<double>(partials.Pointer, host);
        double total = 0;
        foreach (var p in host) total += p;
        return total;
    }
}
