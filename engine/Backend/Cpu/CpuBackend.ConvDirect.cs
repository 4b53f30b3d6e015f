using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// Direct convolution for stride-1 layers, without a column matrix.
// Each sample is copied once into a zero-padded plane xp[C][Hp][Wp] (Hp = H + 2·ph, Wp = W + 2·pw). On that
// grid, output position p = oh·Wp + ow reads input p + (c·Hp + r)·Wp + s for tap (c, r, s): for a run of
// consecutive p every tap is one contiguous vector load, across row ends too. The kernels compute all OH·Wp
// grid positions; the columns ow ≥ OW are thrown away (2 of 34 for a 32-wide row at padding 1).
// Forward: register tile of 8 output channels × 48 positions, one broadcast weight per channel and tap; the tile
// is stored straight into y, each 16-position vector with its thrown-away lanes compressed out (DirectOutputMap):
// compressed in a register and written by a masked store, as a compressing store to memory is several times slower
// (≈ 14 cycles against ≈ 4 on an AMD Zen 5, where nearly every vector of a 34- or 18-wide grid needs one).
// Backward data: the forward kernel on dy with the flipped, transposed weight and padding R−1−p.
// Backward weight: dW[k, tap] = Σ_p dy_grid[k, p] · xp[p + offset(tap)], register tile 4 channels × 6 taps,
// where dy_grid is dy on the Wp grid with zeros in the thrown-away columns.
// Used with AVX-512 only; other machines (and strided layers) take the im2col + GEMM path.
public sealed partial class CpuBackend
{
    private const int DirectKb = 8, DirectVectors = 3, DirectTilePositions = 16 * DirectVectors;
    private const int DirectWKb = 4, DirectWJb = 6;

    [ThreadStatic] private static float[]? _directPad, _directGrid;

    /// <summary>
    /// Whether the direct kernels handle this convolution: AVX-512, stride 1, and a padded grid that wastes
    /// little (at least 60 % of the computed positions are outputs), with few enough channels that
    /// the im2col copies would weigh against the arithmetic.
    /// </summary>
    internal static bool UseDirectConv(Conv2dGeometry g)
    {
        if (!DirectConvEnabled || GemmKernelWidth != 512 || g.StrideH != 1 || g.StrideW != 1) return false;
        if (g.PadH > g.R - 1 || g.PadW > g.S - 1) return false;
        if (g.R == 1 && g.S == 1 && g.PadH == 0 && g.PadW == 0) return false;   // pointwise: the GEMM reads x directly
        int wp = g.W + 2 * g.PadW;
        long grid = (long)g.OutH * wp, computed = (grid + DirectTilePositions - 1) / DirectTilePositions * DirectTilePositions;
        if (grid < 16) return false;
        double useful = (double)g.OutH * g.OutW / computed;
        return useful >= 0.6 && Math.Max(g.K, g.C) <= DirectMaxChannels;
    }

    /// <summary>Off: every convolution takes the im2col path (side-by-side benchmarks of the two paths).</summary>
    internal static bool DirectConvEnabled { get; set; } = true;

    /// <summary>Above this many channels im2col costs little next to the GEMM it feeds (copies ∝ 1/K of the work).</summary>
    internal static int DirectMaxChannels { get; set; } = 128;

    /// <summary>Positions of the padded grid the forward kernel computes (whole tiles) for an OH × Wp grid.</summary>
    private static int DirectComputed(int outH, int wp) => (outH * wp + DirectTilePositions - 1) / DirectTilePositions * DirectTilePositions;

    /// <summary>Floats of the padded plane, with zeroed slack for reads of <paramref name="computed"/> positions at the largest tap offset.</summary>
    private static int DirectPadLength(int c, int hp, int wp, int r, int s, int computed)
        => Math.Max(c * hp * wp, (c - 1) * hp * wp + (r - 1) * wp + (s - 1) + computed);

    private static float[] ThreadBuffer(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<float>(Math.Max(length, 1024), pinned: true);
        return buffer;
    }

    /// <summary>Copies sample x[xOffset..] ([C][H][W]) into the zero-padded plane, and zeroes the slack after it.
    /// Pointer loops: the rows are 4–32 floats, where a span copy per row costs more than the copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PadSample(float[] x, int xOffset, int c, int h, int w, int ph, int pw, Span<float> d)
    {
        int hp = h + 2 * ph, wp = w + 2 * pw, plane = hp * wp;
        if ((long)xOffset + (long)c * h * w > x.Length || (long)c * plane > d.Length)
            throw new ArgumentOutOfRangeException(nameof(d), "PadSample: the sample or the padded plane is out of range.");
        fixed (float* px = x, pd = d)
        {
            for (int ch = 0; ch < c; ch++)
            {
                float* b = pd + ch * plane, src = px + xOffset + ch * h * w;
                ZeroRun(b, ph * wp + pw);
                for (int i = 0; i < h; i++)
                {
                    float* row = b + (ph + i) * wp + pw;
                    CopyRun(src + i * w, row, w);
                    // the right padding of this row and the left padding of the next are adjacent
                    ZeroRun(row + w, i == h - 1 ? pw : 2 * pw);
                }
                ZeroRun(b + (ph + h) * wp, ph * wp);
            }
            if (d.Length > c * plane) ZeroRun(pd + c * plane, d.Length - c * plane);
        }
    }

    /// <summary>Tap offsets on the padded grid: offsets[(c·R + r)·S + s] = (c·Hp + r)·Wp + s.</summary>
    private static int[] TapOffsets(int c, int r, int s, int hp, int wp, int padTo)
    {
        int taps = c * r * s;
        var offsets = new int[(taps + padTo - 1) / padTo * padTo];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < r; i++)
                for (int j = 0; j < s; j++) offsets[(ch * r + i) * s + j] = (ch * hp + i) * wp + j;
        return offsets;
    }

    /// <summary>Forward direct convolution: y = conv(x, w) (+ bias).</summary>
    private void Conv2dForwardDirect(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g)
    {
        var packed = PackDirectWeights(wd, g);
        try { DirectForwardPacked(xd, packed, (g.K + DirectKb - 1) / DirectKb * DirectKb, bd, yd, g); }
        finally { ArrayPool<float>.Shared.Return(packed); }
    }

    /// <summary>packed[tap][kp]: the weights of one tap (c, r, s) for consecutive output channels, zero-padded to whole tiles (a pooled array).</summary>
    private static float[] PackDirectWeights(float[] wd, Conv2dGeometry g)
    {
        int kp = (g.K + DirectKb - 1) / DirectKb * DirectKb, taps = g.C * g.R * g.S;
        var packed = ArrayPool<float>.Shared.Rent(taps * kp);
        TransposeWeights(wd, g.K, taps, packed, kp);
        return packed;
    }

    /// <summary>dst[t·ld + k] = w[k·taps + t] for k &lt; K, 0 for K ≤ k &lt; ld: the weights [K][taps] tap-major, each tap's output
    /// channels zero-padded to ld (the direct and the event-driven kernels read one tap's channels as vectors). For VGG-16's
    /// deep layers this pass reads and writes the weights from memory on every call; 8×8 blocks transposed in registers
    /// (the scalar loop took ≈ 4 % of COS VGG-16 on a 2-core EPYC; blocking it for the cache had not helped). Optimised
    /// from the first call: its tier-0 code (the 8×8 blocks as calls) took a visible share of short runs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TransposeWeights(ReadOnlySpan<float> w, int k, int taps, Span<float> dst, int ld)
    {
        if ((long)k * taps > w.Length || (long)(taps - 1) * ld + ld > dst.Length)
            throw new ArgumentOutOfRangeException(nameof(dst), "TransposeWeights: the weights or the destination are too short.");
        int k8 = Avx.IsSupported ? k / 8 * 8 : 0, t8 = Avx.IsSupported ? taps / 8 * 8 : 0;
        fixed (float* pw = w, pd = dst)
        {
            for (int kk = 0; kk < k8; kk += 8)
                for (int t = 0; t < t8; t += 8)
                    Transpose8x8(pw + (long)kk * taps + t, taps, pd + (long)t * ld + kk, ld, Vector256<float>.One);
            for (int t = 0; t < taps; t++)
            {
                float* row = pd + (long)t * ld;
                // what the 8×8 blocks left: the last taps for every channel, the last channels for the others
                for (int kk = t < t8 ? k8 : 0; kk < k; kk++) row[kk] = pw[(long)kk * taps + t];
                for (int kk = k; kk < ld; kk++) row[kk] = 0f;
            }
        }
    }

    /// <summary>Backward data by the forward kernel: dx = conv(dy, flip(w)ᵀ) with padding R−1−p.</summary>
    private void Conv2dBackwardDataDirect(float[] gy, float[] wd, float[] gx, Conv2dGeometry g)
    {
        var gt = new Conv2dGeometry(g.N, g.K, g.OutH, g.OutW, g.C, g.R, g.S, 1, 1, g.R - 1 - g.PadH, g.S - 1 - g.PadW);
        int cp = (g.C + DirectKb - 1) / DirectKb * DirectKb;
        int taps = g.K * g.R * g.S, rs = g.R * g.S;
        var packed = ArrayPool<float>.Shared.Rent(taps * cp);
        for (int k = 0; k < g.K; k++)
            for (int r = 0; r < g.R; r++)
                for (int s = 0; s < g.S; s++)
                {
                    int t = (k * g.R + r) * g.S + s, src = (g.R - 1 - r) * g.S + (g.S - 1 - s);
                    for (int c = 0; c < g.C; c++) packed[t * cp + c] = wd[(k * g.C + c) * rs + src];
                    for (int c = g.C; c < cp; c++) packed[t * cp + c] = 0f;
                }
        try { DirectForwardPacked(gy, packed, cp, null, gx, gt); }
        finally { ArrayPool<float>.Shared.Return(packed); }
    }

    private void DirectForwardPacked(float[] xd, float[] packed, int kp, float[]? bd, float[] yd, Conv2dGeometry g)
    {
        var offsets = DirectForwardOffsets(g);
        var map = new DirectOutputMap(g);
        // Few samples: also split the output channels so both cores have work.
        int kTiles = kp / DirectKb;
        int kSplit = g.N >= 2 * Threads ? 1 : Math.Min(kTiles, (2 * Threads + g.N - 1) / g.N);
        ForEach(g.N * kSplit, item =>
        {
            int n = item / kSplit, part = item % kSplit;
            DirectForwardSample(xd, packed, kp, offsets, map, bd, yd, g, n, kTiles * part / kSplit, kTiles * (part + 1) / kSplit);
        });
    }

    /// <summary>The forward kernel's tap offsets on the padded grid of g's input.</summary>
    private static int[] DirectForwardOffsets(Conv2dGeometry g) => TapOffsets(g.C, g.R, g.S, g.H + 2 * g.PadH, g.W + 2 * g.PadW, 1);

    /// <summary>
    /// Where the forward kernel's 16-position vectors of the padded grid land in a y plane ([OH][OW]): vector v covers
    /// grid positions 16v..16v+15; Bits[v] marks its lanes that are outputs (column &lt; OW, row &lt; OH), Lanes[32v..32v+15]
    /// holds the same as one all-ones/zero float mask per lane and Lanes[32v+16..32v+31] the first popcount(Bits[v]) lanes
    /// (where the compressed vector's outputs are), and Dst[v] is the y index of its first output lane. Consecutive
    /// outputs of the grid are consecutive in y (a row's end is followed by the next row's start), so the output lanes
    /// of a vector are one contiguous run there: a compressing store writes them.
    /// </summary>
    private sealed class DirectOutputMap
    {
        public readonly int[] Dst;
        public readonly uint[] Bits;
        public readonly float[] Lanes;

        public DirectOutputMap(Conv2dGeometry g)
        {
            int wp = g.W + 2 * g.PadW, grid = g.OutH * wp, vectors = DirectComputed(g.OutH, wp) / 16;
            (Dst, Bits, Lanes) = (new int[vectors], new uint[vectors], new float[vectors * 32]);
            float on = BitConverter.Int32BitsToSingle(-1);
            for (int v = 0; v < vectors; v++)
            {
                Dst[v] = -1;
                for (int l = 0; l < 16; l++)
                {
                    int p = 16 * v + l, row = p / wp, col = p % wp;
                    if (p >= grid || col >= g.OutW) continue;
                    if (Dst[v] < 0) Dst[v] = row * g.OutW + col;
                    Bits[v] |= 1u << l;
                    Lanes[32 * v + l] = on;
                }
                for (int l = 0; l < BitOperations.PopCount(Bits[v]); l++) Lanes[32 * v + 16 + l] = on;
                if (Dst[v] < 0) Dst[v] = 0;
            }
        }
    }

    /// <summary>Output channel tiles [t0, t1) of sample n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectForwardSample(float[] xd, float[] packed, int kp, int[] offsetArray, DirectOutputMap map, float[]? bd, float[] yd,
        Conv2dGeometry g, int n, int t0, int t1)
    {
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW, ohw = g.OutH * g.OutW;
        int computed = DirectComputed(g.OutH, wp), padLength = DirectPadLength(g.C, hp, wp, g.R, g.S, computed);
        int taps = g.C * g.R * g.S, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        var pad = ThreadBuffer(ref _directPad, padLength);
        PadSample(xd, n * inSize, g.C, g.H, g.W, g.PadH, g.PadW, pad.AsSpan(0, padLength));
        fixed (float* px = pad, pw = packed, py = yd, pLanes = map.Lanes, pb = bd)
        fixed (int* pofs = offsetArray, pDst = map.Dst)
        fixed (uint* pBits = map.Bits)
        {
            for (int kt = t0; kt < t1; kt++)
            {
                int k0 = kt * DirectKb, rows = Math.Min(DirectKb, g.K - k0);
                float* y = py + (long)n * outSize + (long)k0 * ohw, bias = pb == null ? null : pb + k0;
                for (int p = 0; p < computed; p += DirectTilePositions)
                {
                    int v = p / 16;
                    DirectTile8x48(taps, pw + k0, kp, px + p, pofs, y, ohw, rows, bias, pDst + v, pBits + v, pLanes + 32 * v);
                }
            }
        }
    }

    /// <summary>
    /// y[k0..k0+rows][·] = Σ_tap w[tap][k] · x[p + offsets[tap]] (+ bias[k]) for 8 channels × 48 grid positions p; w at the
    /// tile's first channel (row stride kp), y at its first channel's plane (planes ldy apart), the 3 vectors stored
    /// through the output map (<see cref="DirectOutputMap"/>) at dst/bits/lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectTile8x48(int taps, float* w, int kp, float* x, int* offsets, float* y, int ldy, int rows, float* bias,
        int* dst, uint* bits, float* lanes)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector512<float> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (int t = 0; t < taps; t++)
        {
            float* xp = x + offsets[t];
            var x0 = Vector512.Load(xp);
            var x1 = Vector512.Load(xp + 16);
            var x2 = Vector512.Load(xp + 32);
            float* wt = w + (long)t * kp;
            var b = Vector512.Create(wt[0]); c00 = Avx512F.FusedMultiplyAdd(b, x0, c00); c01 = Avx512F.FusedMultiplyAdd(b, x1, c01); c02 = Avx512F.FusedMultiplyAdd(b, x2, c02);
            b = Vector512.Create(wt[1]); c10 = Avx512F.FusedMultiplyAdd(b, x0, c10); c11 = Avx512F.FusedMultiplyAdd(b, x1, c11); c12 = Avx512F.FusedMultiplyAdd(b, x2, c12);
            b = Vector512.Create(wt[2]); c20 = Avx512F.FusedMultiplyAdd(b, x0, c20); c21 = Avx512F.FusedMultiplyAdd(b, x1, c21); c22 = Avx512F.FusedMultiplyAdd(b, x2, c22);
            b = Vector512.Create(wt[3]); c30 = Avx512F.FusedMultiplyAdd(b, x0, c30); c31 = Avx512F.FusedMultiplyAdd(b, x1, c31); c32 = Avx512F.FusedMultiplyAdd(b, x2, c32);
            b = Vector512.Create(wt[4]); c40 = Avx512F.FusedMultiplyAdd(b, x0, c40); c41 = Avx512F.FusedMultiplyAdd(b, x1, c41); c42 = Avx512F.FusedMultiplyAdd(b, x2, c42);
            b = Vector512.Create(wt[5]); c50 = Avx512F.FusedMultiplyAdd(b, x0, c50); c51 = Avx512F.FusedMultiplyAdd(b, x1, c51); c52 = Avx512F.FusedMultiplyAdd(b, x2, c52);
            b = Vector512.Create(wt[6]); c60 = Avx512F.FusedMultiplyAdd(b, x0, c60); c61 = Avx512F.FusedMultiplyAdd(b, x1, c61); c62 = Avx512F.FusedMultiplyAdd(b, x2, c62);
            b = Vector512.Create(wt[7]); c70 = Avx512F.FusedMultiplyAdd(b, x0, c70); c71 = Avx512F.FusedMultiplyAdd(b, x1, c71); c72 = Avx512F.FusedMultiplyAdd(b, x2, c72);
        }
        StoreMapped3(y, bias, 0, c00, c01, c02, dst, bits, lanes);
        if (rows > 1) StoreMapped3(y + ldy, bias, 1, c10, c11, c12, dst, bits, lanes);
        if (rows > 2) StoreMapped3(y + 2 * ldy, bias, 2, c20, c21, c22, dst, bits, lanes);
        if (rows > 3) StoreMapped3(y + 3 * ldy, bias, 3, c30, c31, c32, dst, bits, lanes);
        if (rows > 4) StoreMapped3(y + 4 * ldy, bias, 4, c40, c41, c42, dst, bits, lanes);
        if (rows > 5) StoreMapped3(y + 5 * ldy, bias, 5, c50, c51, c52, dst, bits, lanes);
        if (rows > 6) StoreMapped3(y + 6 * ldy, bias, 6, c60, c61, c62, dst, bits, lanes);
        if (rows > 7) StoreMapped3(y + 7 * ldy, bias, 7, c70, c71, c72, dst, bits, lanes);
    }

    /// <summary>One channel's 3 vectors of a tile into its y plane (+ its bias, added only when non-zero as before the map existed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreMapped3(float* yPlane, float* bias, int row, Vector512<float> a, Vector512<float> b, Vector512<float> c,
        int* dst, uint* bits, float* lanes)
    {
        if (bias != null && bias[row] != 0f)
        {
            var v = Vector512.Create(bias[row]);
            (a, b, c) = (a + v, b + v, c + v);
        }
        StoreMapped(yPlane, a, dst[0], bits[0], lanes);
        StoreMapped(yPlane, b, dst[1], bits[1], lanes + 32);
        StoreMapped(yPlane, c, dst[2], bits[2], lanes + 64);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreMapped(float* yPlane, Vector512<float> v, int dst, uint bits, float* lanes)
    {
        if (bits == 0xFFFF) v.Store(yPlane + dst);
        else if (bits != 0) Avx512F.MaskStore(yPlane + dst, Vector512.Load(lanes + 16), Avx512F.Compress(Vector512<float>.Zero, Vector512.Load(lanes), v));
    }

    /// <summary>Backward weight: dW[k, c, r, s] = Σ_n Σ_p dy[n, k, p] · x[n, c, p shifted by (r, s)].</summary>
    private unsafe void Conv2dBackwardWeightDirect(float[] xd, float[] gy, float[] gw, Conv2dGeometry g)
    {
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW, oh = g.OutH, ow = g.OutW;
        int grid = (oh * wp + 15) / 16 * 16, padLength = (DirectPadLength(g.C, hp, wp, g.R, g.S, grid) + 15) / 16 * 16;
        int taps = g.C * g.R * g.S, inSize = g.C * g.H * g.W, outSize = g.K * oh * ow;
        int kp = (g.K + DirectWKb - 1) / DirectWKb * DirectWKb, dyLength = kp * grid;
        var offsets = TapOffsets(g.C, g.R, g.S, hp, wp, DirectWJb);
        int tp = offsets.Length;
        // A group of samples goes through each register tile before its lanes are summed, so the 24 horizontal sums
        // of a tile stay rare next to its multiply-adds (≈ 4,096 grid positions per group), while the group's padded
        // inputs and dy grids stay within half of a 1 MB L2 cache.
        int group = Math.Clamp(Math.Min(4096 / grid, (1 << 17) / (padLength + dyLength)), 1, 16);
        // Contiguous sample ranges per part; each part sums into its own dW, the parts are added in order.
        int parts = Math.Max(1, Math.Min(Threads, g.N));
        var partial = new float[parts][];
        ForEach(parts, part =>
        {
            int n0 = g.N * part / parts, n1 = g.N * (part + 1) / parts;
            var acc = ArrayPool<float>.Shared.Rent(kp * tp);
            acc.AsSpan(0, kp * tp).Clear();
            var pad = ThreadBuffer(ref _directPad, padLength * group);
            var dyGrid = ThreadBuffer(ref _directGrid, dyLength * group);
            dyGrid.AsSpan(0, dyLength * group).Clear();
            fixed (float* px = pad, pdy = dyGrid, pacc = acc, pgy = gy)
            fixed (int* pofs = offsets)
            {
                for (int nb = n0; nb < n1; nb += group)
                {
                    int count = Math.Min(group, n1 - nb);
                    for (int s = 0; s < count; s++)
                    {
                        int n = nb + s;
                        PadSample(xd, n * inSize, g.C, g.H, g.W, g.PadH, g.PadW, pad.AsSpan(s * padLength, padLength));
                        // dy[n] on the Wp grid; the thrown-away columns and the tail stay zero
                        for (int k = 0; k < g.K; k++)
                            for (int i = 0; i < oh; i++)
                                CopyRun(pgy + n * outSize + (k * oh + i) * ow, pdy + s * dyLength + k * grid + i * wp, ow);
                    }
                    for (int k0 = 0; k0 < kp; k0 += DirectWKb)
                        for (int j0 = 0; j0 < tp; j0 += DirectWJb)
                            DirectWeightTile4x6(count, grid, pdy + k0 * grid, grid, dyLength, px, padLength, pofs + j0, pacc + k0 * tp + j0, tp);
                }
            }
            partial[part] = acc;
        });
        var sum = partial[0];
        for (int part = 1; part < parts; part++) AxpySpan(1f, partial[part].AsSpan(0, kp * tp), sum.AsSpan(0, kp * tp));
        for (int k = 0; k < g.K; k++) sum.AsSpan(k * tp, taps).CopyTo(gw.AsSpan(k * taps, taps));
        foreach (var a in partial) ArrayPool<float>.Shared.Return(a);
    }

    /// <summary>
    /// acc[kk][jj] += Σ_samples Σ_p dy[kk][p] · x[p + offsets[jj]] over p in [0, length), for 4 channels × 6 taps;
    /// consecutive samples are dyStride / xStride floats apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectWeightTile4x6(int samples, int length, float* dy, int lddy, int dyStride, float* x, int xStride, int* offsets, float* acc, int ldacc)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default;
        for (int s = 0; s < samples; s++, dy += dyStride, x += xStride)
        {
            float* x0 = x + offsets[0], x1 = x + offsets[1], x2 = x + offsets[2], x3 = x + offsets[3], x4 = x + offsets[4], x5 = x + offsets[5];
            float* d0 = dy, d1 = dy + lddy, d2 = dy + 2 * lddy, d3 = dy + 3 * lddy;
            for (int p = 0; p < length; p += 16)
            {
                var e0 = Vector512.Load(d0 + p); var e1 = Vector512.Load(d1 + p); var e2 = Vector512.Load(d2 + p); var e3 = Vector512.Load(d3 + p);
                var v = Vector512.Load(x0 + p);
                a00 = Avx512F.FusedMultiplyAdd(e0, v, a00); a10 = Avx512F.FusedMultiplyAdd(e1, v, a10); a20 = Avx512F.FusedMultiplyAdd(e2, v, a20); a30 = Avx512F.FusedMultiplyAdd(e3, v, a30);
                v = Vector512.Load(x1 + p);
                a01 = Avx512F.FusedMultiplyAdd(e0, v, a01); a11 = Avx512F.FusedMultiplyAdd(e1, v, a11); a21 = Avx512F.FusedMultiplyAdd(e2, v, a21); a31 = Avx512F.FusedMultiplyAdd(e3, v, a31);
                v = Vector512.Load(x2 + p);
                a02 = Avx512F.FusedMultiplyAdd(e0, v, a02); a12 = Avx512F.FusedMultiplyAdd(e1, v, a12); a22 = Avx512F.FusedMultiplyAdd(e2, v, a22); a32 = Avx512F.FusedMultiplyAdd(e3, v, a32);
                v = Vector512.Load(x3 + p);
                a03 = Avx512F.FusedMultiplyAdd(e0, v, a03); a13 = Avx512F.FusedMultiplyAdd(e1, v, a13); a23 = Avx512F.FusedMultiplyAdd(e2, v, a23); a33 = Avx512F.FusedMultiplyAdd(e3, v, a33);
                v = Vector512.Load(x4 + p);
                a04 = Avx512F.FusedMultiplyAdd(e0, v, a04); a14 = Avx512F.FusedMultiplyAdd(e1, v, a14); a24 = Avx512F.FusedMultiplyAdd(e2, v, a24); a34 = Avx512F.FusedMultiplyAdd(e3, v, a34);
                v = Vector512.Load(x5 + p);
                a05 = Avx512F.FusedMultiplyAdd(e0, v, a05); a15 = Avx512F.FusedMultiplyAdd(e1, v, a15); a25 = Avx512F.FusedMultiplyAdd(e2, v, a25); a35 = Avx512F.FusedMultiplyAdd(e3, v, a35);
            }
        }
        AddSums(acc, a00, a01, a02, a03, a04, a05);
        AddSums(acc + ldacc, a10, a11, a12, a13, a14, a15);
        AddSums(acc + 2 * ldacc, a20, a21, a22, a23, a24, a25);
        AddSums(acc + 3 * ldacc, a30, a31, a32, a33, a34, a35);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddSums(float* acc, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, Vector512<float> v4, Vector512<float> v5)
    {
        acc[0] += Vector512.Sum(v0); acc[1] += Vector512.Sum(v1); acc[2] += Vector512.Sum(v2);
        acc[3] += Vector512.Sum(v3); acc[4] += Vector512.Sum(v4); acc[5] += Vector512.Sum(v5);
    }
}
