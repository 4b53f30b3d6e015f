using System.Numerics;
using System.Runtime.InteropServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Training-mode BatchNorm + QCFS in one operation (IFusedNormQcfs): the BN output z = x·scale + shift is never
// written. Forward: the batch statistics, then one pass x → QCFS(z). Backward: one pass for Σdz, Σdz·x̂ and dλ, one
// for dx, each recomputing z and dz = QCFS'(z)·dy from x. Each element gets the float operations of the separate
// kernels (ScaleShift, QcfsForward/Backward, BatchNormInputGradient) in the same order, and the BN sums fold the
// same runs of 64 vectors: results equal the two operations' except for dλ (its own summation order, and z·(1/λ)).
// Divisions dominate these loops, so each element divides once per pass: with t = z·L/λ + ½ (the division the
// method fixes), q = ⌊t⌋/L is ⌊t⌋·(1/L) when L is a power of two (exact), and the pass-through test 0 ≤ q ≤ 1 is
// 0 ≤ t < L + 1 (⌊t⌋ is an integer k, and k/L ≤ 1 exactly when k ≤ L).
public sealed partial class CpuBackend : IFusedNormQcfs
{
    public void BatchNormQcfsForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps,
        Tensor lambda, int levels, Tensor y, Tensor saveMean, Tensor saveInvStd)
    {
        BackendContract.BatchNormForwardTraining(Device, x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        BackendContract.QcfsForward(Device, x, lambda, levels, y);
        var (n, c, hw) = NormDims(x);
        float[] xd = Data(x), yd = Data(y), gd = Data(gamma), bd = Data(beta), rm = Data(runningMean), rv = Data(runningVar),
            sm = Data(saveMean), si = Data(saveInvStd);
        float lam = Data(lambda)[0];
        int chw = c * hw;
        ForEach(c, ch =>
        {
            var (scale, shift) = BatchStatistics(xd, n, chw, hw, ch, momentum, eps, gd, bd, rm, rv, sm, si);
            var q = new QcfsOfBn(scale, shift, lam, levels, 0f, 0f);
            for (int i = 0; i < n; i++) q.Forward(xd.AsSpan(i * chw + ch * hw, hw), yd.AsSpan(i * chw + ch * hw, hw));
        });
    }

    public void BatchNormQcfsBackward(Tensor dy, Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor lambda, int levels,
        Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dlambda)
    {
        BackendContract.BatchNormBackward(Device, dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
        BackendContract.QcfsBackward(Device, dy, x, lambda, levels, dx, dlambda);
        var (n, c, hw) = NormDims(x);
        if (beta.Numel != c) throw new ArgumentException($"{nameof(BatchNormQcfsBackward)}: beta has {beta.Numel} elements, x has {c} channels.");
        long count = (long)n * hw;
        float[] gy = Data(dy), xd = Data(x), gd = Data(gamma), bd = Data(beta), sm = Data(saveMean), si = Data(saveInvStd),
            gx = Data(dx), gg = Data(dgamma), gb = Data(dbeta);
        float lam = Data(lambda)[0];
        int chw = c * hw;
        var dLambda = new double[c];
        ForEach(c, ch =>
        {
            float mean = sm[ch], invStd = si[ch], scale = gd[ch] * invStd, shift = bd[ch] - mean * scale;
            var q = new QcfsOfBn(scale, shift, lam, levels, mean, invStd);
            double sumDz = 0, sumDzXhat = 0, dl = 0;
            for (int i = 0; i < n; i++)
            {
                int o = i * chw + ch * hw;
                var (a, b, l) = q.Sums(gy.AsSpan(o, hw), xd.AsSpan(o, hw));
                (sumDz, sumDzXhat, dl) = (sumDz + a, sumDzXhat + b, dl + l);
            }
            gb[ch] = (float)sumDz;
            gg[ch] = (float)sumDzXhat;
            dLambda[ch] = dl;
            float k = gd[ch] * invStd, meanDz = (float)(sumDz / count), meanDzXhat = (float)(sumDzXhat / count);
            for (int i = 0; i < n; i++)
            {
                int o = i * chw + ch * hw;
                q.InputGradient(gy.AsSpan(o, hw), xd.AsSpan(o, hw), k, meanDz, meanDzXhat, gx.AsSpan(o, hw));
            }
        });
        double total = 0;
        foreach (var d in dLambda) total += d;
        Data(dlambda)[0] = (float)total;
    }

    /// <summary>One channel's QCFS after its BN: z = x·scale + shift, dz = dy where 0 ≤ q(z) ≤ 1, and x̂ = (x − mean)·invStd.</summary>
    private readonly struct QcfsOfBn(float scale, float shift, float lambda, int levels, float mean, float invStd)
    {
        private readonly float _scale = scale, _shift = shift, _lambda = lambda, _levels = levels, _mean = mean, _invStd = invStd;
        private readonly float _invLambda = 1f / lambda, _top = levels + 1;
        /// <summary>1/L when it is exact (L a power of two), else 0: q = ⌊t⌋/L is then a multiplication.</summary>
        private readonly float _invLevels = BitOperations.IsPow2(levels) ? 1f / levels : 0f;

        /// <summary>t = z·L/λ + ½ for z = x·scale + shift (QcfsSteps' order: multiply, divide, add).</summary>
        private Vector<float> T(Vector<float> x, Vector<float> a, Vector<float> b, Vector<float> vl, Vector<float> vlam) => (x * a + b) * vl / vlam + new Vector<float>(0.5f);

        private Vector<float> Q(Vector<float> t, Vector<float> vl) =>
            _invLevels != 0f ? Vector.Floor(t) * new Vector<float>(_invLevels) : Vector.Floor(t) / vl;

        /// <summary>q = k/L for the step index k = <see cref="QcfsSteps"/> (already an integer).</summary>
        private float Level(float steps) => _invLevels != 0f ? steps * _invLevels : steps / _levels;

        /// <summary>y = λ·clamp(q, 0, 1): the values of <see cref="ScaleShift"/> then <see cref="QcfsForward"/>.</summary>
        public void Forward(ReadOnlySpan<float> x, Span<float> y)
        {
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
                var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
                Vector<float> a = new(_scale), b = new(_shift), vl = new(_levels), vlam = new(_lambda);
                for (int v = 0; v < vx.Length; v++)
                    vy[v] = vlam * Vector.Min(Vector.Max(Q(T(vx[v], a, b, vl, vlam), vl), Vector<float>.Zero), Vector<float>.One);
                j = vx.Length * Vector<float>.Count;
            }
            for (; j < x.Length; j++) y[j] = _lambda * Math.Clamp(Level(QcfsSteps(x[j] * _scale + _shift, _levels, _lambda)), 0f, 1f);
        }

        /// <summary>(Σ dz, Σ dz·x̂, Σ ∂y/∂λ·dy) over one run of a channel.</summary>
        public (double SumDz, double SumDzXhat, double DLambda) Sums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
        {
            double sumDz = 0, sumDzXhat = 0, dl = 0;
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vdy = MemoryMarshal.Cast<float, Vector<float>>(dy);
                var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
                Vector<float> a = new(_scale), b = new(_shift), vl = new(_levels), vlam = new(_lambda), invLam = new(_invLambda),
                    top = new(_top), one = Vector<float>.One, zero = Vector<float>.Zero, m = new(_mean), inv = new(_invStd);
                for (int v0 = 0; v0 < vx.Length; v0 += 64)
                {
                    Vector<float> accDz = zero, accDzXhat = zero, accL = zero;
                    int v1 = Math.Min(vx.Length, v0 + 64);
                    for (int v = v0; v < v1; v++)
                    {
                        var xv = vx[v];
                        var t = T(xv, a, b, vl, vlam);
                        var inside = Vector.GreaterThanOrEqual(t, zero) & Vector.LessThan(t, top);
                        var g = vdy[v];
                        var dz = Vector.ConditionalSelect(inside, g, zero);
                        // inside: q − z/λ; above: 1; below: 0.
                        var above = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(t, top), one, zero);
                        accL += g * Vector.ConditionalSelect(inside, Q(t, vl) - (xv * a + b) * invLam, above);
                        accDz += dz;
                        accDzXhat += dz * ((xv - m) * inv);
                    }
                    sumDz += Vector.Sum(accDz);
                    sumDzXhat += Vector.Sum(accDzXhat);
                    dl += Vector.Sum(accL);
                }
                j = vx.Length * Vector<float>.Count;
            }
            for (; j < x.Length; j++)
            {
                float z = x[j] * _scale + _shift, q = Level(QcfsSteps(z, _levels, _lambda)), g = dy[j];
                bool inside = q >= 0f && q <= 1f;
                float dz = inside ? g : 0f;
                dl += inside ? g * (q - z * _invLambda) : g * (q > 1f ? 1f : 0f);
                sumDz += dz;
                sumDzXhat += dz * ((x[j] - _mean) * _invStd);
            }
            return (sumDz, sumDzXhat, dl);
        }

        /// <summary>dx = k·(dz − mean(dz) − x̂·mean(dz·x̂)), as <see cref="BatchNormInputGradient"/>.</summary>
        public void InputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float k, float meanDz, float meanDzXhat, Span<float> dx)
        {
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vdy = MemoryMarshal.Cast<float, Vector<float>>(dy);
                var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
                var vdx = MemoryMarshal.Cast<float, Vector<float>>(dx);
                Vector<float> a = new(_scale), b = new(_shift), vl = new(_levels), vlam = new(_lambda), top = new(_top), zero = Vector<float>.Zero,
                    m = new(_mean), inv = new(_invStd), vk = new(k), md = new(meanDz), mdx = new(meanDzXhat);
                for (int v = 0; v < vx.Length; v++)
                {
                    var t = T(vx[v], a, b, vl, vlam);
                    var dz = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(t, zero) & Vector.LessThan(t, top), vdy[v], zero);
                    vdx[v] = vk * (dz - md - (vx[v] - m) * inv * mdx);
                }
                j = vx.Length * Vector<float>.Count;
            }
            for (; j < x.Length; j++)
            {
                float q = Level(QcfsSteps(x[j] * _scale + _shift, _levels, _lambda));
                float dz = q >= 0f && q <= 1f ? dy[j] : 0f;
                dx[j] = k * (dz - meanDz - (x[j] - _mean) * _invStd * meanDzXhat);
            }
        }
    }
}
