using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SpikeEngine.Backend.Cpu;

// Event-driven (spike-driven) convolution forward for sparse inputs.
// After an IF layer a layer's input is 0 or θ, and most of it is 0 (firing rates of 5–35 %). A sample whose
// share of non-zero inputs is below EventMaxDensity skips the dense kernel: each non-zero input x[c, h, w]
// adds x · w[·, c, r, s] (one vector over the output channels) to every output position it feeds, in a
// channels-last scratch [OH·OW][K] that is transposed into y at the end. Same sums as the dense path, in
// another order. Samples are chosen one by one (a batch of T·B time steps mixes dense and sparse ones);
// batches with no sparse sample take the dense path unchanged.
public sealed partial class CpuBackend
{
    /// <summary>
    /// Non-zero share of a sample's input below which the event-driven path is used. Measured with
    /// `bench -- sparsepaths` (ResNet-20 layers, batch 128): the event path wins below about 0.3 against
    /// the direct kernel; kept lower for margin across machines.
    /// </summary>
    internal static double EventMaxDensity { get; set; } = 0.2;

    [ThreadStatic] private static float[]? _eventOut;

    /// <summary>Runs the forward convolution with events for the sparse samples; false when no sample is sparse enough.</summary>
    private bool TryConv2dForwardEvents(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g)
    {
        if (EventMaxDensity <= 0 || !Vector512.IsHardwareAccelerated || g.N == 0) return false;
        int inSize = g.C * g.H * g.W;
        long limit = (long)(EventMaxDensity * inSize);
        var sparse = new bool[g.N];
        int sparseCount = 0;
        ForEach(g.N, n => sparse[n] = CountNonZero(xd.AsSpan(n * inSize, inSize), limit) < limit);
        foreach (bool s in sparse) if (s) sparseCount++;
        if (sparseCount == 0) return false;

        int taps = g.C * g.R * g.S, kv = (g.K + 15) / 16 * 16, outSize = g.K * g.OutH * g.OutW;
        // wt[tap][kv]: one tap's weights over the output channels, zero-padded to whole vectors
        var wt = GC.AllocateUninitializedArray<float>(taps * kv, pinned: true);
        for (int t = 0; t < taps; t++)
        {
            for (int k = 0; k < g.K; k++) wt[t * kv + k] = wd[k * taps + t];
            for (int k = g.K; k < kv; k++) wt[t * kv + k] = 0f;
        }
        bool direct = UseDirectConv(g);
        float[]? packed = null;
        int kp = (g.K + DirectKb - 1) / DirectKb * DirectKb;
        if (direct && sparseCount < g.N) packed = PackDirectWeights(wd, g);
        ForEach(g.N, n =>
        {
            if (sparse[n]) EventSample(xd, n * inSize, wt, kv, bd, yd, n * outSize, g);
            else if (direct) DirectForwardSample(xd, packed!, kp, bd, yd, g, n, 0, kp / DirectKb);
            else Im2ColForwardSample(xd, wd, bd, yd, g, n);
        });
        return true;
    }

    /// <summary>How many elements are non-zero, counting stops once <paramref name="stopAt"/> is reached.</summary>
    private static long CountNonZero(ReadOnlySpan<float> x, long stopAt)
    {
        long count = 0;
        int i = 0;
        const int block = 1024;
        while (i + 16 <= x.Length)
        {
            int end = Math.Min(x.Length - 16, i + block);
            for (; i <= end; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref Unsafe.AsRef(in x[i]));
                count += 16 - BitOperations.PopCount(Vector512.ExtractMostSignificantBits(Vector512.Equals(v, Vector512<float>.Zero)));
            }
            if (count >= stopAt) return count;
        }
        for (; i < x.Length; i++) if (x[i] != 0f) count++;
        return count;
    }

    /// <summary>One sample by events: scatter the weights of each non-zero input into a channels-last scratch, then transpose into y.</summary>
    private static unsafe void EventSample(float[] xd, int xOffset, float[] wt, int kv, float[]? bd, float[] yd, int yOffset, Conv2dGeometry g)
    {
        int oh = g.OutH, ow = g.OutW, ohw = oh * ow, vectors = kv / 16;
        var scratch = ThreadBuffer(ref _eventOut, ohw * kv);
        scratch.AsSpan(0, ohw * kv).Clear();
        fixed (float* px = xd, pw = wt, po = scratch)
        {
            for (int c = 0; c < g.C; c++)
                for (int h = 0; h < g.H; h++)
                {
                    float* row = px + xOffset + (c * g.H + h) * g.W;
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
                            for (int r = 0; r < g.R; r++)
                            {
                                int ti = h + g.PadH - r;
                                if (ti < 0 || ti % g.StrideH != 0) continue;
                                int i = ti / g.StrideH;
                                if (i >= oh) continue;
                                for (int s = 0; s < g.S; s++)
                                {
                                    int tj = w + g.PadW - s;
                                    if (tj < 0 || tj % g.StrideW != 0) continue;
                                    int j = tj / g.StrideW;
                                    if (j >= ow) continue;
                                    float* src = pw + ((c * g.R + r) * g.S + s) * kv;
                                    float* dst = po + (i * ow + j) * kv;
                                    for (int v = 0; v < vectors; v++)
                                        (Vector512.Load(dst + 16 * v) + a * Vector512.Load(src + 16 * v)).Store(dst + 16 * v);
                                }
                            }
                        }
                    }
                }
            // [OH·OW][kv] → y[K][OH·OW] (+ bias)
            for (int k = 0; k < g.K; k++)
            {
                float b = bd?[k] ?? 0f;
                float* src = po + k;
                var dst = yd.AsSpan(yOffset + k * ohw, ohw);
                for (int p = 0; p < ohw; p++) dst[p] = src[p * kv] + b;
            }
        }
    }

    /// <summary>One sample through im2col + a single-threaded GEMM (the dense samples of a mixed batch on the im2col path).</summary>
    private void Im2ColForwardSample(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g, int n)
    {
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        float[]? col = null;
        try
        {
            float[] src = xd; int srcOffset = n * inSize;
            if (!IsPointwise(g)) { col = ArrayPool<float>.Shared.Rent(crs * ohw); Im2Col(xd, n * inSize, g, col, 0, ohw); src = col; srcOffset = 0; }
            GemmArrays(false, false, g.K, ohw, crs, 1f, wd, 0, crs, src, srcOffset, ohw, 0f, yd, n * outSize, ohw, 1);
        }
        finally { if (col is not null) ArrayPool<float>.Shared.Return(col); }
        if (bd is not null) AddChannelBias(yd, n * outSize, g.K, ohw, bd);
    }
}
