using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// Event-driven (spike-driven) convolution forward for sparse inputs.
// After an IF layer a layer's input is 0 or θ, and most of it is 0 (firing rates of 5–35 %). A sample with
// fewer non-zero inputs than the break-even count (a cost model, below) skips the dense kernel: each non-zero input x[c, h, w]
// adds x · w[·, c, r, s] (one vector over the output channels) to every output position it feeds, in a
// channels-last scratch [OH·OW][K] that is transposed into y at the end. Same sums as the dense path, in
// another order. Samples are chosen one by one (a batch of T·B time steps mixes dense and sparse ones);
// batches with no sparse sample take the dense path unchanged.
public sealed partial class CpuBackend
{
    /// <summary>When the event path is taken: never, by the cost model below, or for every sample under <see cref="EventMaxDensity"/> (tests and probes).</summary>
    internal enum EventChoice { Off, Auto, ByDensity }

    internal static EventChoice EventPath { get; set; } = EventChoice.Auto;

    /// <summary>Upper bound on the non-zero share of a sample that may take the event path.</summary>
    internal static double EventMaxDensity { get; set; } = 0.5;

    /// <summary>
    /// The largest non-zero count at which one sample is cheaper by events, from a cost model fitted with
    /// `bench -- sparsepaths` (2-core AVX-512 Xeon, batch 128, process CPU time): the dense kernels cost about
    /// 0.025 ns per multiply-add (direct) or 0.04 (im2col + GEMM); an event costs 2.5 ns + 1.3 ns per 16 output
    /// channels for each output position it feeds. A 0.7 margin keeps the choice on the safe side: at the
    /// break-even point the dense path is steadier.
    /// </summary>
    private static long EventBreakEven(Conv2dGeometry g, bool direct)
    {
        double denseNs = (double)g.OutH * g.OutW * g.K * g.C * g.R * g.S * (direct ? 0.025 : 0.04);
        double fedPerInput = (double)g.R * g.S / (g.StrideH * g.StrideW);
        double eventNs = fedPerInput * (2.5 + 1.3 * ((g.K + 15) / 16));
        long modelLimit = (long)(0.7 * denseNs / eventNs), densityLimit = (long)(EventMaxDensity * g.C * g.H * g.W);
        return EventPath == EventChoice.ByDensity ? densityLimit : Math.Min(modelLimit, densityLimit);
    }

    [ThreadStatic] private static float[]? _eventOut;

    /// <summary>Runs the forward convolution with events for the sparse samples; false when no sample is sparse enough.</summary>
    private bool TryConv2dForwardEvents(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g)
    {
        if (EventPath == EventChoice.Off || !Vector512.IsHardwareAccelerated || g.N == 0) return false;
        int inSize = g.C * g.H * g.W;
        bool direct = UseDirectConv(g);
        long limit = EventBreakEven(g, direct);
        if (limit <= 0) return false;
        var sparse = new bool[g.N];
        int sparseCount = 0;
        ForEach(g.N, n => sparse[n] = CountNonZero(xd.AsSpan(n * inSize, inSize), limit) < limit);
        foreach (bool s in sparse) if (s) sparseCount++;
        if (sparseCount == 0) return false;

        int taps = g.C * g.R * g.S, kv = (g.K + 15) / 16 * 16, outSize = g.K * g.OutH * g.OutW;
        // wt[tap][kv]: one tap's weights over the output channels, zero-padded to whole vectors
        var wt = ArrayPool<float>.Shared.Rent(taps * kv);
        TransposeWeights(wd, g.K, taps, wt, kv);
        float[]? packed = null;
        int[]? offsets = null;
        DirectOutputMap? map = null;
        int kp = (g.K + DirectKb - 1) / DirectKb * DirectKb;
        if (direct && sparseCount < g.N) { packed = PackDirectWeights(wd, g); offsets = DirectForwardOffsets(g); map = new DirectOutputMap(g); }
        var rows = EventReach(g.H, g.OutH, g.R, g.StrideH, g.PadH);
        var cols = EventReach(g.W, g.OutW, g.S, g.StrideW, g.PadW);
        // The dense samples on the im2col path go in chunks (as in Conv2dForward): one GEMM per sample would have as
        // few columns as the feature map has positions (4 or 16 in VGG-16's deep layers), too few for the GEMM's tiles.
        int[][] denseChunks = [];
        if (!direct && sparseCount < g.N)
        {
            var dense = Enumerable.Range(0, g.N).Where(n => !sparse[n]).ToArray();
            int per = ConvPlan(g).PerChunk;
            denseChunks = dense.Chunk(per).ToArray();
        }
        try
        {
            ForEach(g.N + denseChunks.Length, item =>
            {
                if (item >= g.N) Im2ColForwardChunk(xd, wd, bd, yd, g, denseChunks[item - g.N], 1);
                else if (sparse[item]) EventSample(xd, item * inSize, wt, kv, bd, yd, item * outSize, g, rows, cols);
                else if (direct) DirectForwardSample(xd, packed!, kp, offsets!, map!, bd, yd, g, item, 0, kp / DirectKb);
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(wt);
            if (packed is not null) ArrayPool<float>.Shared.Return(packed);
        }
        return true;
    }

    /// <summary>How many elements are non-zero, counting stops once <paramref name="stopAt"/> is reached.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>One sample by events: scatter the weights of each non-zero input into a channels-last scratch, then transpose into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void EventSample(float[] xd, int xOffset, float[] wt, int kv, float[]? bd, float[] yd, int yOffset, Conv2dGeometry g,
        (int[] Pairs, int[] Count) rows, (int[] Pairs, int[] Count) cols)
    {
        int oh = g.OutH, ow = g.OutW, ohw = oh * ow, vectors = kv / 16;
        var scratch = ThreadBuffer(ref _eventOut, ohw * kv);
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
    /// Channels-last scratch [P][kv] → y[K][P] (+ bias). Runs of 8 positions are gathered per channel and stored
    /// as one vector: writing channel rows position by position would hit K rows a power of two apart at once,
    /// which alias in the L1 cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TransposeToChannels(float[] scratch, int kv, float[]? bd, float[] yd, int yOffset, int channels, int positions)
    {
        fixed (float* po = scratch, py = yd)
        {
            float* y = py + yOffset;
            int p0 = 0;
            if (Avx2.IsSupported)
            {
                var index = Vector256.Create(0, kv, 2 * kv, 3 * kv, 4 * kv, 5 * kv, 6 * kv, 7 * kv);
                for (; p0 + 8 <= positions; p0 += 8)
                    for (int k = 0; k < channels; k++)
                    {
                        var v = Avx2.GatherVector256(po + p0 * kv + k, index, 4);
                        if (bd is not null) v += Vector256.Create(bd[k]);
                        v.Store(y + k * positions + p0);
                    }
            }
            for (int k = 0; k < channels; k++)
            {
                float b = bd?[k] ?? 0f;
                for (int p = p0; p < positions; p++) y[k * positions + p] = po[p * kv + k] + b;
            }
        }
    }
}
