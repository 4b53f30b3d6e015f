using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Average pooling (padding counted in the divisor, as PyTorch's count_include_pad=True) and global average pooling.
public sealed partial class CpuBackend
{
    public void AvgPool2dForward(Tensor x, Tensor y, Pool2dGeometry g)
    {
        BackendContract.AvgPool2dForward(Device, x, y, g);
        float[] xd = Data(x), yd = Data(y);
        int oh = g.OutH, ow = g.OutW, inPlane = g.H * g.W, outPlane = oh * ow;
        // Without ceil mode every window lies inside the padded input, so the divisor is the kernel area.
        float inv = 1f / (g.KernelH * g.KernelW);
        bool pairs = Vector512.IsHardwareAccelerated && g is { KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0 } && g.W % 16 == 0 && g.H % 2 == 0;
        ForEach(g.N * g.C, nc =>
        {
            int xo = nc * inPlane, yo = nc * outPlane;
            if (pairs) { AvgPool2x2Plane(xd, xo, yd, yo, g.H, g.W); return; }
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1) = PoolWindow(i, g.StrideH, g.PadH, g.KernelH, g.H);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1) = PoolWindow(j, g.StrideW, g.PadW, g.KernelW, g.W);
                    float s = 0;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++) s += xd[xo + h * g.W + w];
                    yd[yo + i * ow + j] = s * inv;
                }
            }
        });
    }

    /// <summary>
    /// One plane of a 2×2, stride-2 average pool (VGG-16's), eight outputs per vector: each 16 inputs of a row split into
    /// their even and odd columns (one permute), summed in the scalar loop's order, ((x00 + x01) + x10) + x11, times ¼.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AvgPool2x2Plane(float[] xd, int xo, float[] yd, int yo, int h, int w)
    {
        var split = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        var quarter = Vector256.Create(0.25f);
        fixed (float* px = xd, py = yd)
        {
            float* y = py + yo;
            for (int i = 0; i < h; i += 2)
            {
                float* top = px + xo + i * w, bottom = top + w;
                for (int j = 0; j < w; j += 16, y += 8)
                {
                    var a = Avx512F.PermuteVar16x32(Vector512.Load(top + j), split);
                    var b = Avx512F.PermuteVar16x32(Vector512.Load(bottom + j), split);
                    (((a.GetLower() + a.GetUpper()) + b.GetLower() + b.GetUpper()) * quarter).Store(y);
                }
            }
        }
    }

    public void AvgPool2dBackward(Tensor dy, Tensor dx, Pool2dGeometry g)
    {
        BackendContract.AvgPool2dBackward(Device, dy, dx, g);
        float[] gy = Data(dy), gx = Data(dx);
        int oh = g.OutH, ow = g.OutW, inPlane = g.H * g.W, outPlane = oh * ow;
        float inv = 1f / (g.KernelH * g.KernelW);
        ForEach(g.N * g.C, nc =>
        {
            int xo = nc * inPlane, yo = nc * outPlane;
            gx.AsSpan(xo, inPlane).Clear();
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1) = PoolWindow(i, g.StrideH, g.PadH, g.KernelH, g.H);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1) = PoolWindow(j, g.StrideW, g.PadW, g.KernelW, g.W);
                    float v = gy[yo + i * ow + j] * inv;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++) gx[xo + h * g.W + w] += v;
                }
            }
        });
    }

    /// <summary>The input rows (or columns) [lo, hi) that output index <paramref name="o"/>'s window covers, padding cut off.</summary>
    private static (int Lo, int Hi) PoolWindow(int o, int stride, int pad, int kernel, int size)
    {
        int lo = o * stride - pad;
        return (Math.Max(lo, 0), Math.Min(lo + kernel, size));
    }

    public void GlobalAvgPoolForward(Tensor x, Tensor y)
    {
        BackendContract.GlobalAvgPool(nameof(GlobalAvgPoolForward), Device, x, "x", y, "y");
        float[] xd = Data(x), yd = Data(y);
        int planes = x.Shape[0] * x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        ForChunks(planes, Math.Max(1, ParallelGrain / Math.Max(1, hw)), (s, e) =>
        {
            for (int p = s; p < e; p++) yd[p] = (float)(SumSpan(xd.AsSpan(p * hw, hw)) / hw);
        });
    }

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx)
    {
        BackendContract.GlobalAvgPool(nameof(GlobalAvgPoolBackward), Device, dx, "dx", dy, "dy");
        float[] gy = Data(dy), gx = Data(dx);
        int planes = dx.Shape[0] * dx.Shape[1], hw = dx.Shape[2] * dx.Shape[3];
        ForChunks(planes, Math.Max(1, ParallelGrain / Math.Max(1, hw)), (s, e) =>
        {
            for (int p = s; p < e; p++) gx.AsSpan(p * hw, hw).Fill(gy[p] / hw);
        });
    }
}
