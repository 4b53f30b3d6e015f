using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// QCFS activation (cos.md §1): q = floor(x·L/λ + 1/2)/L, y = λ·clamp(q, 0, 1), straight-through floor.
public sealed partial class CpuBackend
{
    /// <summary>
    /// The quantised level q·L = floor(x·L/λ + 0.5), computed in float32 exactly this way
    /// (the SNN reference and the CUDA kernel must use the same expression).
    /// </summary>
    internal static float QcfsSteps(float x, float levels, float lambda) => MathF.Floor(x * levels / lambda + 0.5f);

    public void QcfsForward(Tensor x, Tensor lambda, int levels, Tensor y)
    {
        float lam = Data(lambda)[0], fl = levels;
        float[] xd = Data(x), yd = Data(y);
        ForChunks(y.Numel, ParallelGrain, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float q = QcfsSteps(xd[i], fl, lam) / fl;
                yd[i] = lam * Math.Clamp(q, 0f, 1f);
            }
        });
    }

    public void QcfsBackward(Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda)
    {
        float lam = Data(lambda)[0], fl = levels;
        float[] gy = Data(dy), xd = Data(x), gx = Data(dx);
        int n = x.Numel, chunks = (n + ParallelGrain - 1) / ParallelGrain;
        var partial = new double[Math.Max(1, chunks)];
        ForChunks(n, ParallelGrain, (s, e) =>
        {
            double dl = 0;
            for (int i = s; i < e; i++)
            {
                float q = QcfsSteps(xd[i], fl, lam) / fl, g = gy[i];
                if (q >= 0f && q <= 1f)
                {
                    gx[i] = g;
                    dl += g * (q - xd[i] / lam);
                }
                else
                {
                    gx[i] = 0f;
                    dl += g * (q > 1f ? 1f : 0f);
                }
            }
            partial[s / ParallelGrain] = dl;
        });
        double total = 0;
        foreach (var p in partial) total += p;
        Data(dlambda)[0] = (float)total;
    }
}
