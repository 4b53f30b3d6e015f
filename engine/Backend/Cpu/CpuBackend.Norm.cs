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
        var (n, c, hw) = NormDims(x);
        long count = (long)n * hw;
        if (count < 2)
            throw new ArgumentException($"BatchNorm training needs more than one value per channel; input {x.Shape} has {count}.");
        float[] xd = Data(x), yd = Data(y), gd = Data(gamma), bd = Data(beta), rm = Data(runningMean), rv = Data(runningVar),
            sm = Data(saveMean), si = Data(saveInvStd);
        int chw = c * hw;
        ForEach(c, ch =>
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += SumSpan(xd.AsSpan(i * chw + ch * hw, hw));
            double mean = sum / count;
            double sq = 0;
            for (int i = 0; i < n; i++)
            {
                var plane = xd.AsSpan(i * chw + ch * hw, hw);
                for (int j = 0; j < plane.Length; j++) { double d = plane[j] - mean; sq += d * d; }
            }
            double var = sq / count;
            float invStd = (float)(1.0 / Math.Sqrt(var + eps));
            sm[ch] = (float)mean;
            si[ch] = invStd;
            rm[ch] = (float)((1 - momentum) * rm[ch] + momentum * mean);
            rv[ch] = (float)((1 - momentum) * rv[ch] + momentum * var * count / (count - 1));
            float scale = gd[ch] * invStd, shift = bd[ch] - (float)mean * scale;
            for (int i = 0; i < n; i++) ScaleShift(xd.AsSpan(i * chw + ch * hw, hw), scale, shift, yd.AsSpan(i * chw + ch * hw, hw));
        });
    }

    public void BatchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float eps, Tensor y)
    {
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
                for (int j = 0; j < hw; j++)
                {
                    float g = gy[o + j];
                    sumDy += g;
                    sumDyXhat += g * ((xd[o + j] - mean) * invStd);
                }
            }
            gb[ch] = (float)sumDy;
            gg[ch] = (float)sumDyXhat;
            // dx = γ·invstd/n · (n·dy − Σdy − x̂·Σ(dy·x̂))
            float k = gd[ch] * invStd, meanDy = (float)(sumDy / count), meanDyXhat = (float)(sumDyXhat / count);
            for (int i = 0; i < n; i++)
            {
                int o = i * chw + ch * hw;
                for (int j = 0; j < hw; j++)
                {
                    float xhat = (xd[o + j] - mean) * invStd;
                    gx[o + j] = k * (gy[o + j] - meanDy - xhat * meanDyXhat);
                }
            }
        });
    }

    /// <summary>y = x·scale + shift.</summary>
    private static void ScaleShift(ReadOnlySpan<float> x, float scale, float shift, Span<float> y)
    {
        for (int j = 0; j < x.Length; j++) y[j] = x[j] * scale + shift;
    }
}
