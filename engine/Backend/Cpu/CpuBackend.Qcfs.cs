using System.Numerics;
using System.Runtime.InteropServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// QCFS activation (METHOD.md §1): q = floor(x·L/λ + 1/2)/L, y = λ·clamp(q, 0, 1), straight-through floor.
// The vector and scalar paths evaluate the same float32 operations in the same order (no FMA contraction),
// so every element gets the bitwise same q.
public sealed partial class CpuBackend
{
    /// <summary>
    /// The quantised level q·L = floor(x·L/λ + 0.5), computed in float32 exactly this way
    /// (the SNN reference and the CUDA kernel must use the same expression).
    /// </summary>
    internal static float QcfsSteps(float x, float levels, float lambda) => MathF.Floor(x * levels / lambda + 0.5f);

    public void QcfsForward(Tensor x, Tensor lambda, int levels, Tensor y)
    {
        BackendContract.QcfsForward(Device, x, lambda, levels, y);
        float lam = Data(lambda)[0], fl = levels;
        float[] xd = Data(x), yd = Data(y);
        ForChunks(y.Numel, ParallelGrain, (s, e) =>
        {
            int i = s;
            if (Vector.IsHardwareAccelerated)
            {
                var vx = MemoryMarshal.Cast<float, Vector<float>>(xd.AsSpan(s, e - s));
                var vy = MemoryMarshal.Cast<float, Vector<float>>(yd.AsSpan(s, e - s));
                Vector<float> vl = new(fl), vlam = new(lam), half = new(0.5f), one = Vector<float>.One;
                for (int v = 0; v < vx.Length; v++)
                {
                    var q = Vector.Floor(vx[v] * vl / vlam + half) / vl;
                    vy[v] = vlam * Vector.Min(Vector.Max(q, Vector<float>.Zero), one);
                }
                i = s + vx.Length * Vector<float>.Count;
            }
            for (; i < e; i++)
            {
                float q = QcfsSteps(xd[i], fl, lam) / fl;
                yd[i] = lam * Math.Clamp(q, 0f, 1f);
            }
        });
    }

    public void QcfsBackward(Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda)
    {
        BackendContract.QcfsBackward(Device, dy, x, lambda, levels, dx, dlambda);
        float lam = Data(lambda)[0], fl = levels;
        float[] gy = Data(dy), xd = Data(x), gx = Data(dx);
        int n = x.Numel, chunks = (n + ParallelGrain - 1) / ParallelGrain;
        var partial = new double[Math.Max(1, chunks)];
        ForChunks(n, ParallelGrain, (s, e) =>
        {
            double dl = 0;
            int i = s;
            if (Vector.IsHardwareAccelerated)
            {
                var vx = MemoryMarshal.Cast<float, Vector<float>>(xd.AsSpan(s, e - s));
                var vdy = MemoryMarshal.Cast<float, Vector<float>>(gy.AsSpan(s, e - s));
                var vdx = MemoryMarshal.Cast<float, Vector<float>>(gx.AsSpan(s, e - s));
                Vector<float> vl = new(fl), vlam = new(lam), half = new(0.5f), one = Vector<float>.One, zero = Vector<float>.Zero;
                // Float partial sums over short runs, folded into the double total.
                const int run = 64;
                for (int v0 = 0; v0 < vx.Length; v0 += run)
                {
                    var acc = Vector<float>.Zero;
                    int v1 = Math.Min(vx.Length, v0 + run);
                    for (int v = v0; v < v1; v++)
                    {
                        var xv = vx[v];
                        var q = Vector.Floor(xv * vl / vlam + half) / vl;
                        var inside = Vector.GreaterThanOrEqual(q, zero) & Vector.LessThanOrEqual(q, one);
                        var g = vdy[v];
                        vdx[v] = Vector.ConditionalSelect(inside, g, zero);
                        // inside: q − x/λ; above: 1; below: 0.
                        var above = Vector.ConditionalSelect(Vector.GreaterThan(q, one), one, zero);
                        acc += g * Vector.ConditionalSelect(inside, q - xv / vlam, above);
                    }
                    dl += Vector.Sum(acc);
                }
                i = s + vx.Length * Vector<float>.Count;
            }
            for (; i < e; i++)
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
