using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

public sealed partial class CudaBackend
{
    public void Add(Tensor a, Tensor b, Tensor y) => Launch(CudaKernels.Add, y.Numel, A(a), A(b), A(y), y.Numel);
    public void Mul(Tensor a, Tensor b, Tensor y) => Launch(CudaKernels.Mul, y.Numel, A(a), A(b), A(y), y.Numel);
    public void Axpy(float alpha, Tensor x, Tensor y) => Launch(CudaKernels.Axpy, y.Numel, alpha, A(x), A(y), y.Numel);
    public void Scale(Tensor x, float alpha, Tensor y) => Launch(CudaKernels.Scale, y.Numel, A(x), alpha, A(y), y.Numel);

    public double Sum(Tensor x)
    {
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

    public void SgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay, bool firstStep)
        => Launch(CudaKernels.Sgd, param.Numel, A(param), A(grad), A(momentumBuffer), lr, momentum, weightDecay, firstStep ? 1 : 0, param.Numel);

    public void DropoutForward(Tensor x, float p, ulong seed, Tensor y, Tensor mask)
    {
        if (!(p >= 0f && p <= 1f)) throw new ArgumentException($"Dropout probability must be in [0, 1], got {p}.");
        Launch(CudaKernels.Dropout, x.Numel, A(x), p, seed, A(y), A(mask), x.Numel);
    }
}
