using System.Numerics;
using System.Runtime.InteropServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Batch normalisation over [N,C] or [N,C,H,W]; statistics per channel over N and the spatial positions.
public sealed partial class CpuBackend
{
    /// <summary>(N, C, spatial size) of a [N,C] or [N,C,H,W] tensor.</summary>
    private static (int N, int C, int Hw) NormDims(Tensor x) => (x.Shape[0], x.Shape[1], x.Numel / Math.Max(1, x.Shape[0] * x.Shape[1]));

    public void BatchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd)
    {
        BackendContract.BatchNormForwardTraining(Device, x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        var (n, c, hw) = NormDims(x);
        float[] xd = Data(x), yd = Data(y), gd = Data(gamma), bd = Data(beta), rm = Data(runningMean), rv = Data(runningVar),
            sm = Data(saveMean), si = Data(saveInvStd);
        int chw = c * hw;
        ForEach(c, ch =>
        {
            var (scale, shift) = BatchStatistics(xd, n, chw, hw, ch, momentum, eps, gd, bd, rm, rv, sm, si);
            for (int i = 0; i < n; i++) ScaleShift(xd.AsSpan(i * chw + ch * hw, hw), scale, shift, yd.AsSpan(i * chw + ch * hw, hw));
        });
    }

    /// <summary>
    /// Channel ch's batch mean and 1/√(var + eps) (saved), the running statistics updated (unbiased variance), and
    /// the affine map of the normalisation: y = x·scale + shift.
    /// </summary>
    private static (float Scale, float Shift) BatchStatistics(float[] xd, int n, int chw, int hw, int ch, float momentum, float eps,
        float[] gd, float[] bd, float[] rm, float[] rv, float[] sm, float[] si)
    {
        long count = (long)n * hw;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += SumSpan(xd.AsSpan(i * chw + ch * hw, hw));
        double mean = sum / count;
        double sq = 0;
        for (int i = 0; i < n; i++) sq += SumSquaredDeviation(xd.AsSpan(i * chw + ch * hw, hw), (float)mean);
        double var = sq / count;
        float invStd = (float)(1.0 / Math.Sqrt(var + eps));
        sm[ch] = (float)mean;
        si[ch] = invStd;
        rm[ch] = (float)((1 - momentum) * rm[ch] + momentum * mean);
        rv[ch] = (float)((1 - momentum) * rv[ch] + momentum * var * count / (count - 1));
        float scale = gd[ch] * invStd;
        return (scale, bd[ch] - (float)mean * scale);
    }

    public void BatchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float eps, Tensor y)
    {
        BackendContract.BatchNormForwardInference(Device, x, gamma, beta, runningMean, runningVar, eps, y);
        var (n, c, hw) = NormDims(x);
        float[] xd = Data(x), yd = Data(y), gd = Data(gamma), bd = Data(beta), rm = Data(runningMean), rv = Data(runningVar);
        ForEach(n * c, nc =>
        {
            int ch = nc % c;
            float scale = gd[ch] / MathF.Sqrt(rv[ch] + eps), shift = bd[ch] - rm[ch] * scale;
            ScaleShift(xd.AsSpan(nc * hw, hw), scale, shift, yd.AsSpan(nc * hw, hw));
        });
    }

    public void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor dx, Tensor dgamma, Tensor dbeta)
    {
        BackendContract.BatchNormBackward(Device, dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
        var (n, c, hw) = NormDims(x);
        long count = (long)n * hw;
        float[] gy = Data(dy), xd = Data(x), gd = Data(gamma), sm = Data(saveMean), si = Data(saveInvStd),
            gx = Data(dx), gg = Data(dgamma), gb = Data(dbeta);
        int chw = c * hw;
        ForEach(c, ch =>
        {
            float mean = sm[ch], invStd = si[ch];
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                int o = i * chw + ch * hw;
                var (sd, sdx) = SumDyAndDyXhat(gy.AsSpan(o, hw), xd.AsSpan(o, hw), mean, invStd);
                sumDy += sd;
                sumDyXhat += sdx;
            }
            gb[ch] = (float)sumDy;
            gg[ch] = (float)sumDyXhat;
            // dx = γ·invstd/n · (n·dy − Σdy − x̂·Σ(dy·x̂))
            float k = gd[ch] * invStd, meanDy = (float)(sumDy / count), meanDyXhat = (float)(sumDyXhat / count);
            for (int i = 0; i < n; i++)
            {
                int o = i * chw + ch * hw;
                BatchNormInputGradient(gy.AsSpan(o, hw), xd.AsSpan(o, hw), mean, invStd, k, meanDy, meanDyXhat, gx.AsSpan(o, hw));
            }
        });
    }

    /// <summary>y = x·scale + shift.</summary>
    private static void ScaleShift(ReadOnlySpan<float> x, float scale, float shift, Span<float> y)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            Vector<float> a = new(scale), b = new(shift);
            for (int v = 0; v < vx.Length; v++) vy[v] = vx[v] * a + b;
            j = vx.Length * Vector<float>.Count;
        }
        for (; j < x.Length; j++) y[j] = x[j] * scale + shift;
    }

    /// <summary>Σ (x − mean)², float partial sums over short runs folded into a double.</summary>
    private static double SumSquaredDeviation(ReadOnlySpan<float> x, float mean)
    {
        double total = 0;
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var m = new Vector<float>(mean);
            for (int v0 = 0; v0 < vx.Length; v0 += 64)
            {
                var acc = Vector<float>.Zero;
                int v1 = Math.Min(vx.Length, v0 + 64);
                for (int v = v0; v < v1; v++) { var d = vx[v] - m; acc += d * d; }
                total += Vector.Sum(acc);
            }
            j = vx.Length * Vector<float>.Count;
        }
        for (; j < x.Length; j++) { double d = x[j] - mean; total += d * d; }
        return total;
    }

    /// <summary>(Σ dy, Σ dy·x̂) with x̂ = (x − mean)·invStd.</summary>
    private static (double SumDy, double SumDyXhat) SumDyAndDyXhat(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float invStd)
    {
        double sumDy = 0, sumDyXhat = 0;
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vdy = MemoryMarshal.Cast<float, Vector<float>>(dy);
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            Vector<float> m = new(mean), inv = new(invStd);
            for (int v0 = 0; v0 < vx.Length; v0 += 64)
            {
                Vector<float> a = Vector<float>.Zero, b = Vector<float>.Zero;
                int v1 = Math.Min(vx.Length, v0 + 64);
                for (int v = v0; v < v1; v++) { var g = vdy[v]; a += g; b += g * ((vx[v] - m) * inv); }
                sumDy += Vector.Sum(a);
                sumDyXhat += Vector.Sum(b);
            }
            j = vx.Length * Vector<float>.Count;
        }
        for (; j < x.Length; j++) { float g = dy[j]; sumDy += g; sumDyXhat += g * ((x[j] - mean) * invStd); }
        return (sumDy, sumDyXhat);
    }

    /// <summary>dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)).</summary>
    private static void BatchNormInputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float invStd,
        float k, float meanDy, float meanDyXhat, Span<float> dx)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vdy = MemoryMarshal.Cast<float, Vector<float>>(dy);
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var vdx = MemoryMarshal.Cast<float, Vector<float>>(dx);
            Vector<float> m = new(mean), inv = new(invStd), vk = new(k), md = new(meanDy), mdx = new(meanDyXhat);
            for (int v = 0; v < vx.Length; v++) vdx[v] = vk * (vdy[v] - md - (vx[v] - m) * inv * mdx);
            j = vx.Length * Vector<float>.Count;
        }
        for (; j < x.Length; j++) dx[j] = k * (dy[j] - meanDy - (x[j] - mean) * invStd * meanDyXhat);
    }
}
