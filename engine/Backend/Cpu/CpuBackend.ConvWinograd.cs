using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions with many channels (VGG-16's layers). A 2×2 output tile reads a
// 4×4 input tile d; with U = G·g·Gᵀ (each output/input channel pair's 3×3 kernel g) and V = Bᵀ·d·B (each input
// channel's tile), the tile is Y = Aᵀ·M·A with M = Σ_c U ⊙ V. Each of M's 16 entries ξ is, over all tiles, a GEMM:
// M[ξ] (K × tiles) = U[ξ] (K × C) · V[ξ] (C × tiles) — 16·C multiply-adds per tile and output channel where the
// direct form does 36·C (2.25× fewer), plus transforms that cost O(C + K) per tile. The transforms add and subtract
// (G also halves), so results differ from the direct kernels by rounding only (relative ~1e-6 at 512 channels).
// Backward data is this forward on dy with the flipped, transposed kernel and padding 2 − p. Backward weight is its
// adjoint: dU[ξ] = Σ_tiles dM[ξ] · V[ξ]ᵀ with dM = A·dY·Aᵀ per tile, then dW = Gᵀ·dU·G.
// Tiles go in blocks (whole samples for small maps, rows of tiles of one sample for large ones): a block's input is
// copied into a zero-padded buffer, transformed into V (row step on contiguous rows, column step after splitting even
// and odd columns with permutes, 16 tiles a vector), multiplied by the 16 packed U[ξ] and transformed back into y.
// Used with AVX-512 only, where the GEMM reaches the machine's peak (other machines keep the direct/im2col paths).
public sealed partial class CpuBackend
{
    /// <summary>Off: 3×3 layers take the direct or im2col path (side-by-side benchmarks of the paths, tests of the others).</summary>
    internal static bool WinogradEnabled { get; set; } = true;

    /// <summary>Tests and probes: every layer the Winograd path can take takes it, whatever its channels and map.</summary>
    internal static bool WinogradForced { get; set; }

    /// <summary>Tiles a block aims for: enough GEMM columns for the 32-wide micro-kernel, a block's V and M near L2.</summary>
    private const int WinogradBlockTiles = 128;

    [ThreadStatic] private static float[]? _winoPad, _winoV, _winoM;

    /// <summary>
    /// Whether this convolution takes the Winograd path: AVX-512, 3×3, stride 1, padding ≤ 2, and GEMM work enough
    /// against the transforms. Per tile the GEMMs do 16·C·K multiply-adds, the transforms ∝ 16·(C + K) vector lanes, of
    /// which a map narrower than 32 columns leaves some idle (16 tiles of one tile row a vector): the path is taken when
    /// C·K/(C + K) · min(tiles a row, 16) ≥ 320. `bench -- convpaths`, 2-core Zen 4, batch 64, CPU time against the
    /// better of direct and im2col (that measure in brackets): VGG-16's 64 × 32×32 layers 1.28–1.38× (512), 128 × 16×16
    /// 1.35–1.63× (512), 256 × 8×8 1.48–1.64× (512), 512 × 4×4 1.39–1.46× (512), its channel-doubling layers 64 → 128,
    /// 128 → 256, 256 → 512 1.14–1.45× (341); not taken: ResNet-20's 64 × 8×8 0.95–1.00× (128), 32 × 16×16 0.98–1.09×
    /// (128), VGG-16's 512 × 2×2 0.71–0.86× (256).
    /// </summary>
    internal static bool UseWinograd(Conv2dGeometry g)
        => WinogradEnabled && GemmKernelWidth == 512 && g.R == 3 && g.S == 3 && g.StrideH == 1 && g.StrideW == 1
           && g.PadH <= 2 && g.PadW <= 2
           && (WinogradForced || (double)g.C * g.K / (g.C + g.K) * Math.Min((g.OutW + 1) / 2, 16) >= 320);

    /// <summary>
    /// How the tiles of a list of samples are cut into blocks: whole samples per block when a sample has
    /// fewer tiles than <see cref="WinogradBlockTiles"/> (at most half the samples, so that every thread gets a block),
    /// otherwise runs of tile rows of one sample.
    /// </summary>
    private readonly record struct WinogradBlocks(int TilesH, int TilesW, int SamplesPerBlock, int RowsPerBlock, int Blocks)
    {
        public static WinogradBlocks Plan(int n, int outH, int outW, int threads)
        {
            int th = (outH + 1) / 2, tw = (outW + 1) / 2, perSample = th * tw;
            if (perSample >= WinogradBlockTiles)
            {
                int rows = Math.Max(1, WinogradBlockTiles / tw), perSampleBlocks = (th + rows - 1) / rows;
                return new(th, tw, 1, rows, n * perSampleBlocks);
            }
            int spb = Math.Clamp(WinogradBlockTiles / perSample, 1, Math.Max(1, (n + threads - 1) / threads));
            return new(th, tw, spb, th, (n + spb - 1) / spb);
        }

        /// <summary>Block b: samples [S0, S0 + Count) of the sample list, tile rows [Ty0, Ty1) of each.</summary>
        public (int S0, int Count, int Ty0, int Ty1) Block(int b, int n)
        {
            if (RowsPerBlock >= TilesH)
            {
                int s0 = b * SamplesPerBlock;
                return (s0, Math.Min(SamplesPerBlock, n - s0), 0, TilesH);
            }
            int perSample = (TilesH + RowsPerBlock - 1) / RowsPerBlock, ty0 = b % perSample * RowsPerBlock;
            return (b / perSample, 1, ty0, Math.Min(TilesH, ty0 + RowsPerBlock));
        }

        /// <summary>The most tiles a block holds, and the row length of its V and M buffers (whole vectors, one vector of slack).</summary>
        public int MaxTiles => SamplesPerBlock * Math.Min(RowsPerBlock, TilesH) * TilesW;
        public int Ld => (MaxTiles + 31) / 16 * 16;
    }

    /// <summary>y = conv(x, w) + bias by Winograd F(2×2, 3×3) (see <see cref="UseWinograd"/>), for the listed samples or all.</summary>
    private void Conv2dForwardWinograd(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g, int[]? samples = null)
    {
        float[] u = WinogradWeights(wd, g.K, g.C, flipTranspose: false);
        try { WinogradConvolve(xd, u, bd, yd, samples ?? Enumerable.Range(0, g.N).ToArray(), g.C, g.H, g.W, g.K, g.PadH, g.PadW, g.OutH, g.OutW); }
        finally { ArrayPool<float>.Shared.Return(u); }
    }

    /// <summary>dx = the forward convolution of dy with w flipped and transposed, padding 2 − p: the same Winograd forward.</summary>
    private void Conv2dBackwardDataWinograd(float[] gy, float[] wd, float[] gx, Conv2dGeometry g)
    {
        float[] u = WinogradWeights(wd, g.K, g.C, flipTranspose: true);
        try { WinogradConvolve(gy, u, null, gx, Enumerable.Range(0, g.N).ToArray(), g.K, g.OutH, g.OutW, g.C, 2 - g.PadH, 2 - g.PadW, g.H, g.W); }
        finally { ArrayPool<float>.Shared.Return(u); }
    }

    /// <summary>
    /// U[ξ][o][i] = (G·g·Gᵀ)[ξ] for the 3×3 kernel g of output channel o and input channel i: w[o, i] as stored, or with
    /// <paramref name="flipTranspose"/> w[i, o] turned by 180° (backward data's kernel; o then runs over w's input
    /// channels). A pooled array of 16·K·C floats (K = w's output channels, C its inputs); the caller returns it.
    /// Eight input channels at a time: their kernels gathered tap by tap (they lie 9 or 9·C floats apart), each of the
    /// 16 results stored as one vector (the path runs on AVX-512 machines only, so AVX2's gathers are there).
    /// </summary>
    private unsafe float[] WinogradWeights(float[] wd, int k, int c, bool flipTranspose)
    {
        int outs = flipTranspose ? c : k, ins = flipTranspose ? k : c, pairs = outs * ins;
        if ((long)k * c * 9 > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(wd), "Winograd: the weights exceed 32-bit gather offsets.");
        float[] u = ArrayPool<float>.Shared.Rent(16 * pairs);
        int step = flipTranspose ? c * 9 : 9;   // floats between the kernels of consecutive input channels i
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var index = lanes * step;
        var half = Vector256.Create(0.5f);
        ForEach(outs, o =>
        {
            Span<Vector256<float>> h = stackalloc Vector256<float>[12];
            fixed (float* pw = wd, pu = u)
                for (int i = 0; i < ins; i += 8)
                {
                    var valid = Vector256.LessThan(lanes, Vector256.Create(ins - i)).AsSingle();
                    float* src = flipTranspose ? pw + ((long)i * c + o) * 9 : pw + ((long)o * c + i) * 9;
                    // g[t] of the eight kernels, turned by 180° for backward data
                    Vector256<float> G(int t) => Avx2.GatherMaskVector256(Vector256<float>.Zero, src + (flipTranspose ? 8 - t : t), index, valid, 4);
                    // rows: h = G·g (4×3), then columns: U = h·Gᵀ (4×4)
                    for (int j = 0; j < 3; j++)
                    {
                        Vector256<float> g0 = G(j), g1 = G(3 + j), g2 = G(6 + j);
                        h[j] = g0; h[3 + j] = half * (g0 + g1 + g2); h[6 + j] = half * (g0 - g1 + g2); h[9 + j] = g2;
                    }
                    float* dst = pu + (long)o * ins + i;
                    for (int r = 0; r < 4; r++)
                    {
                        Vector256<float> h0 = h[3 * r], h1 = h[3 * r + 1], h2 = h[3 * r + 2];
                        Avx.MaskStore(dst + 4 * r * (long)pairs, valid, h0);
                        Avx.MaskStore(dst + (4 * r + 1) * (long)pairs, valid, half * (h0 + h1 + h2));
                        Avx.MaskStore(dst + (4 * r + 2) * (long)pairs, valid, half * (h0 - h1 + h2));
                        Avx.MaskStore(dst + (4 * r + 3) * (long)pairs, valid, h2);
                    }
                }
        });
        return u;
    }

    /// <summary>
    /// The stride-1 3×3 convolution y[n] = Σ over c of x[n] ⋆ kernel (+ bias) for samples n of the list, with the kernel
    /// already transformed into u ([16][outCh][inCh], <see cref="WinogradWeights"/>); input [N][inCh][h][w], output
    /// [N][outCh][outH][outW], padding padH/padW.
    /// </summary>
    private unsafe void WinogradConvolve(float[] xd, float[] u, float[]? bd, float[] yd, int[] samples,
        int inCh, int h, int w, int outCh, int padH, int padW, int outH, int outW)
    {
        var plan = WinogradBlocks.Plan(samples.Length, outH, outW, Threads);
        var packed = new PackedGemmA[16];
        try
        {
            for (int xi = 0; xi < 16; xi++) packed[xi] = PackGemmA(false, outCh, inCh, 1f, u, xi * outCh * inCh, inCh);
            ForEach(plan.Blocks, b =>
            {
                var (s0, count, ty0, ty1) = plan.Block(b, samples.Length);
                int rows = ty1 - ty0, tiles = count * rows * plan.TilesW, ld = plan.Ld;
                int rq = 2 * rows + 2, wq = 2 * plan.TilesW + 2;
                float[] pad = ThreadBuffer(ref _winoPad, inCh * count * rq * wq + 64);
                float[] v = ThreadBuffer(ref _winoV, 16 * inCh * ld), m = ThreadBuffer(ref _winoM, 16 * outCh * ld);
                WinogradPadBlock(xd, samples, s0, count, inCh, h, w, 2 * ty0 - padH, padW, rq, wq, pad);
                fixed (float* pp = pad, pv = v)
                    WinogradInputTransform(pp, inCh, count, rows, plan.TilesW, rq, wq, pv, ld);
                for (int xi = 0; xi < 16; xi++)
                    GemmArrays(packed[xi], false, tiles, v, xi * inCh * ld, ld, 0f, m, xi * outCh * ld, ld, 1);
                fixed (float* pm = m, py = yd)
                    WinogradOutputTransform(pm, outCh, count, rows, plan.TilesW, ld, bd, py, samples, s0, ty0, outH, outW);
            });
        }
        finally
        {
            foreach (var p in packed) p?.Dispose();
        }
    }

    /// <summary>
    /// dW[k, c] = Gᵀ · (Σ_tiles dM[ξ][k] · V[ξ][c]) · G, the adjoint of the Winograd forward; each thread sums its
    /// contiguous run of blocks, the runs are added in order.
    /// </summary>
    private unsafe void Conv2dBackwardWeightWinograd(float[] xd, float[] gy, float[] gw, Conv2dGeometry g)
    {
        var plan = WinogradBlocks.Plan(g.N, g.OutH, g.OutW, Threads);
        int parts = Math.Max(1, Math.Min(Threads, plan.Blocks)), pairs = g.K * g.C;
        var samples = Enumerable.Range(0, g.N).ToArray();
        var partial = new float[parts][];
        for (int p = 0; p < parts; p++) partial[p] = ArrayPool<float>.Shared.Rent(16 * pairs);
        try
        {
            ForEach(parts, p =>
            {
                int b0 = (int)((long)plan.Blocks * p / parts), b1 = (int)((long)plan.Blocks * (p + 1) / parts);
                if (b0 == b1) partial[p].AsSpan(0, 16 * pairs).Clear();
                for (int b = b0; b < b1; b++)
                {
                    var (s0, count, ty0, ty1) = plan.Block(b, g.N);
                    int rows = ty1 - ty0, tiles = count * rows * plan.TilesW, ld = plan.Ld;
                    int rq = 2 * rows + 2, wq = 2 * plan.TilesW + 2, dq = 2 * rows, dwq = 2 * plan.TilesW;
                    float[] v = ThreadBuffer(ref _winoV, 16 * g.C * ld), m = ThreadBuffer(ref _winoM, 16 * g.K * ld);
                    float[] pad = ThreadBuffer(ref _winoPad, Math.Max(g.C * count * rq * wq, g.K * count * dq * dwq) + 64);
                    WinogradPadBlock(xd, samples, s0, count, g.C, g.H, g.W, 2 * ty0 - g.PadH, g.PadW, rq, wq, pad);
                    fixed (float* pp = pad, pv = v)
                        WinogradInputTransform(pp, g.C, count, rows, plan.TilesW, rq, wq, pv, ld);
                    // dy on the tiles' 2×2 grid, zero past the output's edge
                    WinogradPadBlock(gy, samples, s0, count, g.K, g.OutH, g.OutW, 2 * ty0, 0, dq, dwq, pad);
                    fixed (float* pp = pad, pm = m)
                        WinogradGradientTransform(pp, g.K, count, rows, plan.TilesW, dq, dwq, pm, ld);
                    for (int xi = 0; xi < 16; xi++)
                        GemmArrays(false, true, g.K, g.C, tiles, 1f, m, xi * g.K * ld, ld, v, xi * g.C * ld, ld,
                            b == b0 ? 0f : 1f, partial[p], xi * pairs, g.C, 1);
                }
            });
            float[] du = partial[0];
            for (int p = 1; p < parts; p++) AxpySpan(1f, partial[p].AsSpan(0, 16 * pairs), du.AsSpan(0, 16 * pairs));
            // dW = Gᵀ·dU·G for eight input channels at a time: dU[ξ] of consecutive pairs are consecutive floats; the
            // eight channels' 72 results are consecutive in dW too, written from a small transposing buffer
            var half = Vector256.Create(0.5f);
            ForEach(g.K, k =>
            {
                Span<Vector256<float>> f = stackalloc Vector256<float>[12];
                Span<float> out9 = stackalloc float[9 * 8];
                fixed (float* pu = du, pg = gw, po = out9)
                    for (int c = 0; c < g.C; c += 8)
                    {
                        int at = k * g.C + c, n = Math.Min(8, g.C - c);
                        var valid = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle();
                        float* pairsAt = pu + at;
                        Vector256<float> U(int xi) => Avx.MaskLoad(pairsAt + (long)xi * pairs, valid);
                        // rows: f = Gᵀ·dU (3×4), then columns: dW = f·G (3×3)
                        for (int j = 0; j < 4; j++)
                        {
                            Vector256<float> u0 = U(j), u1 = U(4 + j), u2 = U(8 + j), u3 = U(12 + j);
                            f[j] = u0 + half * (u1 + u2); f[4 + j] = half * (u1 - u2); f[8 + j] = half * (u1 + u2) + u3;
                        }
                        for (int r = 0; r < 3; r++)
                        {
                            Vector256<float> f0 = f[4 * r], f1 = f[4 * r + 1], f2 = f[4 * r + 2], f3 = f[4 * r + 3];
                            (f0 + half * (f1 + f2)).Store(po + (3 * r) * 8);
                            (half * (f1 - f2)).Store(po + (3 * r + 1) * 8);
                            (half * (f1 + f2) + f3).Store(po + (3 * r + 2) * 8);
                        }
                        float* dst = pg + (long)at * 9;
                        for (int l = 0; l < n; l++)
                            for (int t = 0; t < 9; t++) dst[l * 9 + t] = po[t * 8 + l];
                    }
            });
        }
        finally
        {
            for (int p = 0; p < parts; p++) ArrayPool<float>.Shared.Return(partial[p]);
        }
    }

    /// <summary>
    /// Copies channels [0, channels) of samples list[s0 .. s0 + count) into pad[ch][s][rq][wq]: buffer row ρ is source row
    /// row0 + ρ, buffer column κ source column κ − left; zeros outside the source, and 64 zeroed floats of slack after.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WinogradPadBlock(float[] src, int[] samples, int s0, int count, int channels, int h, int w,
        int row0, int left, int rq, int wq, float[] pad)
    {
        int plane = h * w, cols = Math.Min(w, wq - left);
        for (int ch = 0; ch < channels; ch++)
            for (int s = 0; s < count; s++)
            {
                var dst = pad.AsSpan((ch * count + s) * rq * wq, rq * wq);
                int srcPlane = (samples[s0 + s] * channels + ch) * plane;
                for (int r = 0; r < rq; r++)
                {
                    var line = dst.Slice(r * wq, wq);
                    int sr = row0 + r;
                    if (sr < 0 || sr >= h) { line.Clear(); continue; }
                    line[..left].Clear();
                    src.AsSpan(srcPlane + sr * w, cols).CopyTo(line[left..]);
                    line[(left + cols)..].Clear();
                }
            }
        pad.AsSpan(channels * count * rq * wq, 64).Clear();
    }

    // The transforms put the tiles of one tile row side by side in a vector: 16 for maps of 32 columns and more, 8 (256
    // bits) for 9–16 columns, 4 (128 bits) for up to 8, so that an 8×8 map's row of 4 tiles fills its vector instead of
    // a quarter of a 512-bit one (on the Zen 4 a 512-bit operation costs two 256-bit ones).

    /// <summary>V[ξ][ch][t] = (Bᵀ·d·B)[ξ] (see <see cref="InputTransform{V, L}"/>), in the vector width that suits the tile rows.</summary>
    private static unsafe void WinogradInputTransform(float* pad, int channels, int count, int rows, int tw, int rq, int wq, float* v, int ld)
    {
        if (tw <= 4) InputTransform<Vector128<float>, WinoLanes128>(pad, channels, count, rows, tw, rq, wq, v, ld);
        else if (tw <= 8) InputTransform<Vector256<float>, WinoLanes256>(pad, channels, count, rows, tw, rq, wq, v, ld);
        else InputTransform<Vector512<float>, WinoLanes512>(pad, channels, count, rows, tw, rq, wq, v, ld);
    }

    /// <summary>y tile = Aᵀ·M·A (+ bias) (see <see cref="OutputTransform{V, L}"/>), in the vector width that suits the tile rows.</summary>
    private static unsafe void WinogradOutputTransform(float* m, int channels, int count, int rows, int tw, int ld, float[]? bias,
        float* y, int[] samples, int s0, int ty0, int outH, int outW)
    {
        if (tw <= 4) OutputTransform<Vector128<float>, WinoLanes128>(m, channels, count, rows, tw, ld, bias, y, samples, s0, ty0, outH, outW);
        else if (tw <= 8) OutputTransform<Vector256<float>, WinoLanes256>(m, channels, count, rows, tw, ld, bias, y, samples, s0, ty0, outH, outW);
        else OutputTransform<Vector512<float>, WinoLanes512>(m, channels, count, rows, tw, ld, bias, y, samples, s0, ty0, outH, outW);
    }

    /// <summary>dM[ξ][k][t] = (A·dY·Aᵀ)[ξ] (see <see cref="GradientTransform{V, L}"/>), in the vector width that suits the tile rows.</summary>
    private static unsafe void WinogradGradientTransform(float* pad, int channels, int count, int rows, int tw, int rq, int wq, float* dm, int ld)
    {
        if (tw <= 4) GradientTransform<Vector128<float>, WinoLanes128>(pad, channels, count, rows, tw, rq, wq, dm, ld);
        else if (tw <= 8) GradientTransform<Vector256<float>, WinoLanes256>(pad, channels, count, rows, tw, rq, wq, dm, ld);
        else GradientTransform<Vector512<float>, WinoLanes512>(pad, channels, count, rows, tw, rq, wq, dm, ld);
    }

    /// <summary>
    /// V[ξ][ch][t] = (Bᵀ·d·B)[ξ] for every tile t of the block (t = (s·rows + ty)·tw + tx) and channel, d read from the
    /// padded block (tile (ty, tx) at buffer row 2·ty, column 2·tx). L.Width tiles a vector; lanes past the row's last
    /// tile are written with the next row's tiles' places, which that row overwrites after (ld leaves a vector of slack).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputTransform<V, L>(float* pad, int channels, int count, int rows, int tw, int rq, int wq, float* v, int ld)
        where V : struct where L : struct, IWinoLanes<V>
    {
        long plane = (long)channels * ld;
        int n = L.Width;
        for (int ch = 0; ch < channels; ch++)
            for (int s = 0; s < count; s++)
                for (int ty = 0; ty < rows; ty++)
                {
                    float* r0 = pad + ((long)(ch * count + s) * rq + 2 * ty) * wq, r1 = r0 + wq, r2 = r1 + wq, r3 = r2 + wq;
                    float* dst = v + (long)ch * ld + (s * rows + ty) * tw;
                    for (int tx = 0; tx < tw; tx += n)
                    {
                        float* c0 = r0 + 2 * tx, c1 = r1 + 2 * tx, c2 = r2 + 2 * tx, c3 = r3 + 2 * tx;
                        float* d = dst + tx;
                        // row step, Bᵀ·d: t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3, on 3·n columns
                        Columns(L.Sub(L.Load(c0), L.Load(c2)), L.Sub(L.Load(c0 + n), L.Load(c2 + n)), L.Sub(L.Load(c0 + 2 * n), L.Load(c2 + 2 * n)), d, plane);
                        Columns(L.Add(L.Load(c1), L.Load(c2)), L.Add(L.Load(c1 + n), L.Load(c2 + n)), L.Add(L.Load(c1 + 2 * n), L.Load(c2 + 2 * n)), d + 4 * plane, plane);
                        Columns(L.Sub(L.Load(c2), L.Load(c1)), L.Sub(L.Load(c2 + n), L.Load(c1 + n)), L.Sub(L.Load(c2 + 2 * n), L.Load(c1 + 2 * n)), d + 8 * plane, plane);
                        Columns(L.Sub(L.Load(c1), L.Load(c3)), L.Sub(L.Load(c1 + n), L.Load(c3 + n)), L.Sub(L.Load(c1 + 2 * n), L.Load(c3 + 2 * n)), d + 12 * plane, plane);
                    }
                }

        // columns 2tx, 2tx+1, 2tx+2, 2tx+3 of n tiles out of the row's 3·n columns a, b, c, then the column step, ·B
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Columns(V a, V b, V c, float* d, long plane)
        {
            V e0 = L.Even(a, b), o0 = L.Odd(a, b), e1 = L.NextEven(e0, c), o1 = L.NextOdd(o0, c);
            L.Store(d, L.Sub(e0, e1));
            L.Store(d + plane, L.Add(o0, e1));
            L.Store(d + 2 * plane, L.Sub(e1, o0));
            L.Store(d + 3 * plane, L.Sub(o0, o1));
        }
    }

    /// <summary>
    /// y tile = Aᵀ·M·A (+ bias) for every tile of the block and output channel: rows 2·ty, 2·ty + 1 and columns 2·tx,
    /// 2·tx + 1 of the sample's output, those inside outH × outW. L.Width tiles a vector, interleaved into 2·L.Width columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputTransform<V, L>(float* m, int channels, int count, int rows, int tw, int ld, float[]? bias,
        float* y, int[] samples, int s0, int ty0, int outH, int outW)
        where V : struct where L : struct, IWinoLanes<V>
    {
        long plane = (long)channels * ld;
        int outPlane = outH * outW, n = L.Width;
        for (int k = 0; k < channels; k++)
        {
            var bk = L.Broadcast(bias is null ? 0f : bias[k]);
            for (int s = 0; s < count; s++)
            {
                float* yPlane = y + ((long)samples[s0 + s] * channels + k) * outPlane;
                for (int ty = 0; ty < rows; ty++)
                {
                    int row = 2 * (ty0 + ty);
                    float* src = m + (long)k * ld + (s * rows + ty) * tw;
                    for (int tx = 0; tx < tw; tx += n)
                    {
                        // row step, Aᵀ·M: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3, per column j
                        Row(src + tx, plane, 0, out V s00, out V s10);
                        Row(src + tx, plane, 1, out V s01, out V s11);
                        Row(src + tx, plane, 2, out V s02, out V s12);
                        Row(src + tx, plane, 3, out V s03, out V s13);
                        // column step, ·A
                        V y00 = L.Add(L.Add(L.Add(s00, s01), s02), bk), y01 = L.Add(L.Sub(L.Sub(s01, s02), s03), bk);
                        V y10 = L.Add(L.Add(L.Add(s10, s11), s12), bk), y11 = L.Add(L.Sub(L.Sub(s11, s12), s13), bk);
                        int cols = outW - 2 * tx;
                        StoreTileRow(yPlane + row * outW + 2 * tx, y00, y01, cols);
                        if (row + 1 < outH) StoreTileRow(yPlane + (row + 1) * outW + 2 * tx, y10, y11, cols);
                    }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Row(float* at, long plane, int j, out V s0, out V s1)
        {
            V m0 = L.Load(at + j * plane), m1 = L.Load(at + (4 + j) * plane), m2 = L.Load(at + (8 + j) * plane), m3 = L.Load(at + (12 + j) * plane);
            s0 = L.Add(L.Add(m0, m1), m2); s1 = L.Sub(L.Sub(m1, m2), m3);
        }

        // the even and odd output columns of n tiles interleaved into 2·n floats at dst, of which the first cols are stored
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void StoreTileRow(float* dst, V even, V odd, int cols)
        {
            int n = L.Width;
            V lo = L.InterleaveLow(even, odd), hi = L.InterleaveHigh(even, odd);
            if (cols >= 2 * n) { L.Store(dst, lo); L.Store(dst + n, hi); return; }
            L.StoreFirst(dst, lo, cols);
            if (cols > n) L.StoreFirst(dst + n, hi, cols - n);
        }
    }

    /// <summary>
    /// dM[ξ][k][t] = (A·dY·Aᵀ)[ξ] for every tile of the block and output channel, dY the tile's 2×2 of dy read from the
    /// padded block (zeros past the output's edge); laid out and written as <see cref="InputTransform{V, L}"/> writes V.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GradientTransform<V, L>(float* pad, int channels, int count, int rows, int tw, int rq, int wq, float* dm, int ld)
        where V : struct where L : struct, IWinoLanes<V>
    {
        long plane = (long)channels * ld;
        int n = L.Width;
        for (int k = 0; k < channels; k++)
            for (int s = 0; s < count; s++)
                for (int ty = 0; ty < rows; ty++)
                {
                    float* r0 = pad + ((long)(k * count + s) * rq + 2 * ty) * wq, r1 = r0 + wq;
                    float* dst = dm + (long)k * ld + (s * rows + ty) * tw;
                    for (int tx = 0; tx < tw; tx += n)
                    {
                        float* c0 = r0 + 2 * tx, c1 = r1 + 2 * tx;
                        V a0 = L.Load(c0), b0 = L.Load(c0 + n), a1 = L.Load(c1), b1 = L.Load(c1 + n);
                        V d00 = L.Even(a0, b0), d01 = L.Odd(a0, b0), d10 = L.Even(a1, b1), d11 = L.Odd(a1, b1);
                        // row step, A·dY: e0 = d0, e1 = d0 + d1, e2 = d0 − d1, e3 = −d1, per column
                        Columns(dst + tx, plane, 0, d00, d01);
                        Columns(dst + tx, plane, 1, L.Add(d00, d10), L.Add(d01, d11));
                        Columns(dst + tx, plane, 2, L.Sub(d00, d10), L.Sub(d01, d11));
                        Columns(dst + tx, plane, 3, L.Neg(d10), L.Neg(d11));
                    }
                }

        // column step, ·Aᵀ: (e0, e0 + e1, e0 − e1, −e1) of the row's even and odd columns
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Columns(float* at, long plane, int i, V even, V odd)
        {
            float* d = at + 4 * i * plane;
            L.Store(d, even);
            L.Store(d + plane, L.Add(even, odd));
            L.Store(d + 2 * plane, L.Sub(even, odd));
            L.Store(d + 3 * plane, L.Neg(odd));
        }
    }

    /// <summary>The vector operations of the Winograd transforms, for 4, 8 or 16 lanes (AVX-512VL permutes).</summary>
    private unsafe interface IWinoLanes<V> where V : struct
    {
        static abstract int Width { get; }
        static abstract V Load(float* p);
        static abstract void Store(float* p, V v);
        /// <summary>Stores the first <paramref name="count"/> (&lt; Width) lanes.</summary>
        static abstract void StoreFirst(float* p, V v, int count);
        static abstract V Broadcast(float x);
        static abstract V Add(V a, V b);
        static abstract V Sub(V a, V b);
        static abstract V Neg(V a);
        /// <summary>Lanes 0, 2, 4, … of a followed by b (the even columns), and 1, 3, 5, … (the odd ones).</summary>
        static abstract V Even(V a, V b);
        static abstract V Odd(V a, V b);
        /// <summary>The even (odd) columns one tile on: lanes 1 … Width − 1 of e, then c's lane 0 (1).</summary>
        static abstract V NextEven(V e, V c);
        static abstract V NextOdd(V o, V c);
        /// <summary>even[0], odd[0], even[1], odd[1], … : the first Width of them, and the rest.</summary>
        static abstract V InterleaveLow(V even, V odd);
        static abstract V InterleaveHigh(V even, V odd);
    }

    private readonly unsafe struct WinoLanes512 : IWinoLanes<Vector512<float>>
    {
        // index vectors as literal constants (static readonly fields of a type not yet initialised when these methods are
        // compiled with full optimisation would be loaded, behind an initialisation check, at every use)
        private static Vector512<int> EvenI => Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        private static Vector512<int> OddI => Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        private static Vector512<int> NextI => Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        private static Vector512<int> NextOddI => Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
        private static Vector512<int> LowI => Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        private static Vector512<int> HighI => Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        public static int Width => 16;
        public static Vector512<float> Load(float* p) => Vector512.Load(p);
        public static void Store(float* p, Vector512<float> v) => v.Store(p);
        public static void StoreFirst(float* p, Vector512<float> v, int count)
            => Avx512F.MaskStore(p, Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle(), v);
        public static Vector512<float> Broadcast(float x) => Vector512.Create(x);
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
        public static Vector512<float> Neg(Vector512<float> a) => -a;
        public static Vector512<float> Even(Vector512<float> a, Vector512<float> b) => Avx512F.PermuteVar16x32x2(a, EvenI, b);
        public static Vector512<float> Odd(Vector512<float> a, Vector512<float> b) => Avx512F.PermuteVar16x32x2(a, OddI, b);
        public static Vector512<float> NextEven(Vector512<float> e, Vector512<float> c) => Avx512F.PermuteVar16x32x2(e, NextI, c);
        public static Vector512<float> NextOdd(Vector512<float> o, Vector512<float> c) => Avx512F.PermuteVar16x32x2(o, NextOddI, c);
        public static Vector512<float> InterleaveLow(Vector512<float> even, Vector512<float> odd) => Avx512F.PermuteVar16x32x2(even, LowI, odd);
        public static Vector512<float> InterleaveHigh(Vector512<float> even, Vector512<float> odd) => Avx512F.PermuteVar16x32x2(even, HighI, odd);
    }

    private readonly unsafe struct WinoLanes256 : IWinoLanes<Vector256<float>>
    {
        private static Vector256<int> EvenI => Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        private static Vector256<int> OddI => Vector256.Create(1, 3, 5, 7, 9, 11, 13, 15);
        private static Vector256<int> NextI => Vector256.Create(1, 2, 3, 4, 5, 6, 7, 8);
        private static Vector256<int> NextOddI => Vector256.Create(1, 2, 3, 4, 5, 6, 7, 9);
        private static Vector256<int> LowI => Vector256.Create(0, 8, 1, 9, 2, 10, 3, 11);
        private static Vector256<int> HighI => Vector256.Create(4, 12, 5, 13, 6, 14, 7, 15);
        public static int Width => 8;
        public static Vector256<float> Load(float* p) => Vector256.Load(p);
        public static void Store(float* p, Vector256<float> v) => v.Store(p);
        public static void StoreFirst(float* p, Vector256<float> v, int count)
            => Avx.MaskStore(p, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle(), v);
        public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector256<float> Neg(Vector256<float> a) => -a;
        public static Vector256<float> Even(Vector256<float> a, Vector256<float> b) => Avx512F.VL.PermuteVar8x32x2(a, EvenI, b);
        public static Vector256<float> Odd(Vector256<float> a, Vector256<float> b) => Avx512F.VL.PermuteVar8x32x2(a, OddI, b);
        public static Vector256<float> NextEven(Vector256<float> e, Vector256<float> c) => Avx512F.VL.PermuteVar8x32x2(e, NextI, c);
        public static Vector256<float> NextOdd(Vector256<float> o, Vector256<float> c) => Avx512F.VL.PermuteVar8x32x2(o, NextOddI, c);
        public static Vector256<float> InterleaveLow(Vector256<float> even, Vector256<float> odd) => Avx512F.VL.PermuteVar8x32x2(even, LowI, odd);
        public static Vector256<float> InterleaveHigh(Vector256<float> even, Vector256<float> odd) => Avx512F.VL.PermuteVar8x32x2(even, HighI, odd);
    }

    private readonly unsafe struct WinoLanes128 : IWinoLanes<Vector128<float>>
    {
        private static Vector128<int> EvenI => Vector128.Create(0, 2, 4, 6);
        private static Vector128<int> OddI => Vector128.Create(1, 3, 5, 7);
        private static Vector128<int> NextI => Vector128.Create(1, 2, 3, 4);
        private static Vector128<int> NextOddI => Vector128.Create(1, 2, 3, 5);
        private static Vector128<int> LowI => Vector128.Create(0, 4, 1, 5);
        private static Vector128<int> HighI => Vector128.Create(2, 6, 3, 7);
        public static int Width => 4;
        public static Vector128<float> Load(float* p) => Vector128.Load(p);
        public static void Store(float* p, Vector128<float> v) => v.Store(p);
        public static void StoreFirst(float* p, Vector128<float> v, int count)
            => Avx.MaskStore(p, Vector128.LessThan(Vector128.Create(0, 1, 2, 3), Vector128.Create(count)).AsSingle(), v);
        public static Vector128<float> Broadcast(float x) => Vector128.Create(x);
        public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
        public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
        public static Vector128<float> Neg(Vector128<float> a) => -a;
        public static Vector128<float> Even(Vector128<float> a, Vector128<float> b) => Avx512F.VL.PermuteVar4x32x2(a, EvenI, b);
        public static Vector128<float> Odd(Vector128<float> a, Vector128<float> b) => Avx512F.VL.PermuteVar4x32x2(a, OddI, b);
        public static Vector128<float> NextEven(Vector128<float> e, Vector128<float> c) => Avx512F.VL.PermuteVar4x32x2(e, NextI, c);
        public static Vector128<float> NextOdd(Vector128<float> o, Vector128<float> c) => Avx512F.VL.PermuteVar4x32x2(o, NextOddI, c);
        public static Vector128<float> InterleaveLow(Vector128<float> even, Vector128<float> odd) => Avx512F.VL.PermuteVar4x32x2(even, LowI, odd);
        public static Vector128<float> InterleaveHigh(Vector128<float> even, Vector128<float> odd) => Avx512F.VL.PermuteVar4x32x2(even, HighI, odd);
    }
}
