using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// The event path's scatter form, for sparse samples whose non-zero inputs differ (spikes after an average pool take
// the values θ/4 … θ), which the gather form's value-free lists (CpuBackend.ConvEvents.cs) do not cover: each non-zero
// input x[c, h, w] adds x · w[·, c, r, s] (one vector per 16 output channels) to every output position it feeds, in a
// channels-last scratch [OH·OW][K] that is transposed into y at the end. It reads each event's weights from wherever
// they are (L3 for large layers), so it pays at low densities and few channels (the Fashion-MNIST cnn's second layer).
public sealed partial class CpuBackend
{
    /// <summary>
    /// The largest non-zero count at which one sample is cheaper by scattering, from a cost model fitted with
    /// `bench -- sparsepaths all all 2 pooled` (2-core AMD EPYC Zen 5, batch 128, process CPU time, four input values,
    /// rates 0.02–0.45): the dense kernels as in <see cref="DenseSampleNs"/>; by scattering, each output (K·OH·OW) costs
    /// 2 ns (zeroing the channels-last scratch, transposing it into y), the call's weight transposition 2.5 ns a float
    /// shared by its N samples, and each event 0.72 ns + 0.71 ns per 16 output channels for every output position it
    /// feeds (on average over the input, edges included). The model this replaced (fitted on a Xeon whose dense kernels ran at
    /// half this speed) sent sparse samples of ResNet-20's 16-channel layers here, where this machine's dense kernel is
    /// about as fast or faster (whole COS runs: no difference measurable above the noise).
    /// </summary>
    private static long ScatterBreakEven(Conv2dGeometry g, bool direct)
    {
        long densityLimit = (long)(EventMaxDensity * g.C * g.H * g.W);
        if (EventPath != EventChoice.Auto) return densityLimit;
        double outputs = (double)g.OutH * g.OutW * g.K, kv = (g.K + 15) / 16 * 16;
        double denseNs = DenseSampleNs(g, direct);
        double fixedNs = outputs * 2.0 + (double)g.C * g.R * g.S * kv * 2.5 / g.N;
        double fed = FedPerInput(g.H, g.OutH, g.R, g.StrideH, g.PadH) * FedPerInput(g.W, g.OutW, g.S, g.StrideW, g.PadW);
        double eventNs = fed * (0.72 + 0.71 * (kv / 16));
        return Math.Min((long)((denseNs - fixedNs) / eventNs), densityLimit);
    }

    /// <summary>Output rows (or columns) an input row feeds, on average over the input's rows.</summary>
    private static double FedPerInput(int size, int outSize, int kernel, int stride, int pad)
    {
        long fed = 0;
        for (int h = 0; h < size; h++)
            for (int r = 0; r < kernel; r++)
            {
                int t = h + pad - r;
                if (t >= 0 && t % stride == 0 && t / stride < outSize) fed++;
            }
        return (double)fed / size;
    }

    [ThreadStatic] private static float[]? _scatterOut;

    /// <summary>
    /// For each input row h (or column): the kernel rows r and output rows i with i·stride − pad + r = h, as
    /// (r, i) pairs, at most <paramref name="kernel"/> per input index; count[h] says how many.
    /// </summary>
    private static (int[] Pairs, int[] Count) EventReach(int size, int outSize, int kernel, int stride, int pad)
    {
        var pairs = new int[size * kernel * 2];
        var count = new int[size];
        for (int h = 0; h < size; h++)
            for (int r = 0; r < kernel; r++)
            {
                int t = h + pad - r;
                if (t < 0 || t % stride != 0 || t / stride >= outSize) continue;
                int e = h * kernel + count[h]++;
                pairs[2 * e] = r;
                pairs[2 * e + 1] = t / stride;
            }
        return (pairs, count);
    }

    /// <summary>One sample by scattering: the weights of each non-zero input added into a channels-last scratch, then transposed into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScatterSample(float[] xd, int xOffset, float[] wt, int kv, float[]? bd, float[] yd, int yOffset, Conv2dGeometry g,
        (int[] Pairs, int[] Count) rows, (int[] Pairs, int[] Count) cols)
    {
        int oh = g.OutH, ow = g.OutW, ohw = oh * ow, vectors = kv / 16;
        var scratch = ThreadBuffer(ref _scatterOut, ohw * kv);
        scratch.AsSpan(0, ohw * kv).Clear();
        // Stride 1: tap (r, s) of an input feeds the output r rows up and s columns left of (h + ph, w + pw).
        bool stride1 = g.StrideH == 1 && g.StrideW == 1;
        int rs = g.R * g.S;
        int* tapOffset = stackalloc int[rs];
        for (int r = 0; r < g.R; r++)
            for (int s = 0; s < g.S; s++) tapOffset[r * g.S + s] = -(r * ow + s) * kv;
        fixed (float* px = xd, pw = wt, po = scratch)
        fixed (int* rowPairs = rows.Pairs, rowCount = rows.Count, colPairs = cols.Pairs, colCount = cols.Count)
        {
            for (int c = 0; c < g.C; c++)
                for (int h = 0; h < g.H; h++)
                {
                    float* row = px + xOffset + (c * g.H + h) * g.W;
                    int* rp = rowPairs + 2 * h * g.R;
                    int rn = rowCount[h];
                    bool interiorRows = stride1 && rn == g.R;
                    for (int w0 = 0; w0 < g.W; w0 += 16)
                    {
                        // non-zero lanes of this run of the row
                        int lanes = Math.Min(16, g.W - w0);
                        uint mask;
                        if (lanes == 16) mask = ~(uint)Vector512.ExtractMostSignificantBits(Vector512.Equals(Vector512.Load(row + w0), Vector512<float>.Zero)) & 0xFFFF;
                        else { mask = 0; for (int j = 0; j < lanes; j++) if (row[w0 + j] != 0f) mask |= 1u << j; }
                        while (mask != 0)
                        {
                            int w = w0 + BitOperations.TrailingZeroCount(mask);
                            mask &= mask - 1;
                            var a = Vector512.Create(row[w]);
                            int* cp = colPairs + 2 * w * g.S;
                            int cn = colCount[w];
                            if (interiorRows && cn == g.S)
                            {
                                // every tap lands inside: output (h + ph − r, w + pw − s) for tap (r, s), straight from a table
                                float* wc = pw + c * rs * kv;
                                float* o = po + ((h + g.PadH) * ow + (w + g.PadW)) * kv;
                                for (int t = 0; t < rs; t++)
                                {
                                    float* src = wc + t * kv, dst = o + tapOffset[t];
                                    for (int v = 0; v < vectors; v++)
                                        (Vector512.Load(dst + 16 * v) + a * Vector512.Load(src + 16 * v)).Store(dst + 16 * v);
                                }
                                continue;
                            }
                            for (int ri = 0; ri < rn; ri++)
                            {
                                int r = rp[2 * ri], i = rp[2 * ri + 1];
                                float* wRow = pw + (c * g.R + r) * g.S * kv;
                                float* oRow = po + i * ow * kv;
                                for (int si = 0; si < cn; si++)
                                {
                                    float* src = wRow + cp[2 * si] * kv;
                                    float* dst = oRow + cp[2 * si + 1] * kv;
                                    for (int v = 0; v < vectors; v++)
                                        (Vector512.Load(dst + 16 * v) + a * Vector512.Load(src + 16 * v)).Store(dst + 16 * v);
                                }
                            }
                        }
                    }
                }
        }
        TransposeToChannels(scratch, kv, bd, yd, yOffset, g.K, ohw);
    }

    /// <summary>
    /// Channels-last scratch [P][kv] → y[K][P] (+ bias). Blocks of 8 positions × 8 channels are transposed in
    /// registers (the channels left over gathered per 8 positions) and stored as vectors: writing channel rows position by
    /// position would hit K rows a power of two apart at once, which alias in the L1 cache.
    /// </summary>
    private static unsafe void TransposeToChannels(float[] scratch, int kv, float[]? bd, float[] yd, int yOffset, int channels, int positions)
    {
        fixed (float* po = scratch, py = yd, pb = bd)
            TransposeToChannels(po, kv, pb, py + yOffset, positions, channels, positions);
    }

    /// <summary>
    /// As above for <paramref name="count"/> positions of src ([count][kv]) into y[k·yStride + p], p &lt; count (a run of
    /// a larger output, whose channel rows are <paramref name="yStride"/> apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TransposeToChannels(float* src, int kv, float* bias, float* y, int yStride, int channels, int count)
    {
        int p0 = 0;
        if (Avx2.IsSupported)
        {
            var index = Vector256.Create(0, kv, 2 * kv, 3 * kv, 4 * kv, 5 * kv, 6 * kv, 7 * kv);
            for (; p0 + 8 <= count; p0 += 8)
            {
                int k = 0;
                for (; k + 8 <= channels; k += 8) Transpose8x8(src + p0 * kv + k, kv, y + k * yStride + p0, yStride, Vector256<float>.One, bias == null ? null : bias + k);
                for (; k < channels; k++)
                {
                    var v = Avx2.GatherVector256(src + p0 * kv + k, index, 4);
                    if (bias != null) v += Vector256.Create(bias[k]);
                    v.Store(y + k * yStride + p0);
                }
            }
        }
        for (int k = 0; k < channels; k++)
        {
            float b = bias == null ? 0f : bias[k];
            for (int p = p0; p < count; p++) y[k * yStride + p] = src[p * kv + k] + b;
        }
    }
}
