using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Clamp (ReLU, Clip) with its gradient, and the strided block copy behind channel concatenation.
public sealed partial class CpuBackend
{
    public void Clamp(Tensor x, float lo, float hi, Tensor y)
    {
        BackendContract.Clamp(Device, x, lo, hi, y);
        float[] xd = Data(x), yd = Data(y);
        ForChunks(x.Numel, ParallelGrain, (s, e) =>
        {
            for (int i = s; i < e; i++) yd[i] = MathF.Min(MathF.Max(xd[i], lo), hi);
        });
    }

    public void ClampBackward(Tensor dy, Tensor x, float lo, float hi, Tensor dx)
    {
        BackendContract.ClampBackward(Device, dy, x, lo, hi, dx);
        float[] g = Data(dy), xd = Data(x), d = Data(dx);
        ForChunks(x.Numel, ParallelGrain, (s, e) =>
        {
            for (int i = s; i < e; i++) d[i] = xd[i] > lo && xd[i] < hi ? g[i] : 0f;
        });
    }

    public void CopyBlocks(Tensor source, int sourceOffset, int sourceStride, Tensor destination, int destinationOffset, int destinationStride, int blocks, int length)
    {
        BackendContract.CopyBlocks(Device, source, sourceOffset, sourceStride, destination, destinationOffset, destinationStride, blocks, length);
        float[] src = Data(source), dst = Data(destination);
        for (int b = 0; b < blocks; b++)
            Array.Copy(src, sourceOffset + (long)b * sourceStride, dst, destinationOffset + (long)b * destinationStride, length);
    }
}
