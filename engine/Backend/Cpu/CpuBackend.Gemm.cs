using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Row-major GEMM: C = alpha·op(A)·op(B) + beta·C.
// Goto/BLIS structure: C is split among threads along its longer side; each thread walks
// NC-wide column blocks of B, KC-deep slices (B̃ packed into NR-wide panels), MC-tall row blocks of A
// (Ã packed into MR-tall panels, alpha folded in), and an MR×NR register-blocked FMA micro-kernel
// (Vector512 8×32 with AVX-512F, else Vector256 6×16 with FMA; other machines use the simple row kernel).
public sealed partial class CpuBackend
{
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb,
        float beta, Tensor c, int cOffset, int ldc)
    {
        BackendContract.Gemm(Device, transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        GemmArrays(transA, transB, m, n, k, alpha, Data(a), aOffset, lda, Data(b), bOffset, ldb,
            beta, Data(c), cOffset, ldc, Threads);
    }

    /// <summary>Which micro-kernel this machine uses: 512 (AVX-512F), 256 (AVX2+FMA) or 0 (portable loops).</summary>
    internal static readonly int GemmKernelWidth =
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? 512 : Fma.IsSupported && Vector256.IsHardwareAccelerated ? 256 : 0;

    private static readonly int Mr = GemmKernelWidth == 512 ? 8 : 6;
    private static readonly int Nr = GemmKernelWidth == 512 ? 32 : 16;
    // Kc = 512 (B̃ micro-panels stream from L2; C tiles are read and written half as often as with 256): on the 2-core
    // Zen 4 EPYC, 3 Dec 2026, `bench -- gemmloop 1 1024 30` 97–102 against 88–95 GFLOP/s per CPU second with 256
    // (three alternations; 2 threads 187–194 against 179–183), 128 and 192 slower still; Mc 192/384 and Nc 512/1024
    // within the noise.
    private const int Kc = 512, Mc = 96, Nc = 2048;

    /// <summary>Below this many multiply-adds the plain row kernel beats packing.</summary>
    private const long PackedGemmMinWork = 512;
    /// <summary>Multiply-adds per thread below which a GEMM stays on one thread.</summary>
    private const long GemmWorkPerThread = 1 << 17;

    [ThreadStatic] private static float[]? _packA, _packB;

    /// <summary>GEMM on raw host arrays with at most <paramref name="threads"/> threads (1 = run on the caller's thread).</summary>
    internal void GemmArrays(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
        float beta, float[] c, int cOffset, int ldc, int threads)
        => GemmArrays(transA, transB, m, n, k, alpha, a, aOffset, lda, null, b, bOffset, ldb, beta, c, cOffset, ldc, threads);

    /// <summary>
    /// C = op(A)·op(B) + beta·C with A already packed by <see cref="PackGemmA"/> (its transposition and alpha included):
    /// for several products with the same A, such as a convolution's weights over its chunks of samples, which would
    /// otherwise pack A again in every product (and in every thread of a product split along N).
    /// </summary>
    internal void GemmArrays(PackedGemmA a, bool transB, int n, float[] b, int bOffset, int ldb,
        float beta, float[] c, int cOffset, int ldc, int threads)
        => GemmArrays(a.TransA, transB, a.M, n, a.K, a.Alpha, a.Source, a.SourceOffset, a.Lda, a.Panels, b, bOffset, ldb, beta, c, cOffset, ldc, threads);

    private void GemmArrays(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[]? packedA, float[] b, int bOffset, int ldb,
        float beta, float[] c, int cOffset, int ldc, int threads)
    {
        if (m <= 0 || n <= 0) return;
        long work = (long)m * n * k;
        if (k == 0 || alpha == 0f)
        {
            for (int i = 0; i < m; i++) ScaleRow(c.AsSpan(cOffset + i * ldc, n), beta);
            return;
        }
        if (GemmKernelWidth == 0 || work < PackedGemmMinWork)
        {
            GemmRows(transA, transB, 0, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
            return;
        }
        int parts = (int)Math.Clamp(work / GemmWorkPerThread, 1, Math.Max(1, threads));
        // Split along the longer side of C in whole micro-tiles, so each part re-packs only the smaller operand.
        bool splitN = n >= m;
        int unit = splitN ? Nr : Mr, extent = splitN ? n : m;
        parts = Math.Min(parts, (extent + unit - 1) / unit);
        int mPad = (m + Mr - 1) / Mr * Mr;   // rows of a packed A's k-slices
        if (parts <= 1)
        {
            GemmBlocked(transA, transB, m, n, k, alpha, a, aOffset, lda, packedA, 0, mPad, b, bOffset, ldb, beta, c, cOffset, ldc);
            return;
        }
        int tiles = (extent + unit - 1) / unit;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            int s = (int)((long)tiles * p / parts) * unit, e = Math.Min(extent, (int)((long)tiles * (p + 1) / parts) * unit);
            if (e <= s) return;
            if (splitN)
                GemmBlocked(transA, transB, m, e - s, k, alpha, a, aOffset, lda, packedA, 0, mPad,
                    b, bOffset + (transB ? s * ldb : s), ldb, beta, c, cOffset + s, ldc);
            else
                GemmBlocked(transA, transB, e - s, n, k, alpha, a, aOffset + (transA ? s : s * lda), lda, packedA, s, mPad,
                    b, bOffset, ldb, beta, c, cOffset + s * ldc, ldc);
        });
    }

    /// <summary>
    /// alpha·op(A) (m×k) packed as the GEMM packs it, once for several products: k-slices of Kc columns, each
    /// ⌈m/Mr⌉·Mr rows of Mr-tall panels (zero-padded), slice p0 at p0·⌈m/Mr⌉·Mr. Return it with Dispose.
    /// </summary>
    internal unsafe PackedGemmA PackGemmA(bool transA, int m, int k, float alpha, float[] a, int aOffset, int lda)
    {
        int mPad = (m + Mr - 1) / Mr * Mr, slices = (k + Kc - 1) / Kc;
        long size = Math.Max(1, (long)mPad * k);
        // no panels (every product then packs A itself): portable loops, or an operand too large for one array
        var panels = GemmKernelWidth == 0 || size > Array.MaxLength ? null : ArrayPool<float>.Shared.Rent((int)size);
        if (panels is not null)
        {
            // slices × row blocks of Mc, so both threads pack even when the slices are few
            int rowBlocks = (m + Mc - 1) / Mc;
            ForEach(slices * rowBlocks, item =>
            {
                int p0 = item / rowBlocks * Kc, i0 = item % rowBlocks * Mc, kc = Math.Min(Kc, k - p0);
                fixed (float* pd = panels)
                    PackA(transA, a, aOffset, lda, i0, Math.Min(Mc, m - i0), p0, kc, alpha, Mr, pd + (long)p0 * mPad + (long)i0 * kc);
            });
        }
        return new PackedGemmA(transA, m, k, alpha, a, aOffset, lda, panels);
    }

    /// <summary>A GEMM operand packed by <see cref="PackGemmA"/> (the source kept for the products too small to use the panels).</summary>
    internal sealed class PackedGemmA(bool transA, int m, int k, float alpha, float[] source, int sourceOffset, int lda, float[]? panels) : IDisposable
    {
        public bool TransA { get; } = transA;
        public int M { get; } = m;
        public int K { get; } = k;
        public float Alpha { get; } = alpha;
        public float[] Source { get; } = source;
        public int SourceOffset { get; } = sourceOffset;
        public int Lda { get; } = lda;
        public float[]? Panels { get; private set; } = panels;

        public void Dispose()
        {
            if (Panels is not null) ArrayPool<float>.Shared.Return(Panels);
            Panels = null;
        }
    }

    private static void ScaleRow(Span<float> row, float beta)
    {
        if (beta == 0f) row.Clear();
        else if (beta != 1f) for (int j = 0; j < row.Length; j++) row[j] *= beta;
    }

    /// <summary>
    /// One thread's blocked GEMM over the whole (sub)problem. With <paramref name="packedA"/> (see <see cref="PackGemmA"/>),
    /// A's panels are read from there (row <paramref name="packedRow"/> of k-slices <paramref name="packedRows"/> tall)
    /// instead of being packed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot from the first call: no tier-0 pass
    private static unsafe void GemmBlocked(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[]? packedA, int packedRow, int packedRows, float[] b, int bOffset, int ldb,
        float beta, float[] c, int cOffset, int ldc)
    {
        int mr = Mr, nr = Nr;
        var packA = _packA ??= GC.AllocateUninitializedArray<float>(Mc * Kc, pinned: true);
        var packB = _packB ??= GC.AllocateUninitializedArray<float>(Kc * Nc, pinned: true);
        fixed (float* pa0 = packA, pb = packB, pc = c, pre = packedA)
        {
            for (int jc = 0; jc < n; jc += Nc)
            {
                int nc = Math.Min(Nc, n - jc);
                for (int pc0 = 0; pc0 < k; pc0 += Kc)
                {
                    int kc = Math.Min(Kc, k - pc0);
                    float blockBeta = pc0 == 0 ? beta : 1f;
                    PackB(transB, b, bOffset, ldb, pc0, kc, jc, nc, nr, packB);
                    for (int ic = 0; ic < m; ic += Mc)
                    {
                        int mc = Math.Min(Mc, m - ic);
                        float* pa = pa0;
                        if (pre != null) pa = pre + (long)pc0 * packedRows + (long)(packedRow + ic) * kc;
                        else PackA(transA, a, aOffset, lda, ic, mc, pc0, kc, alpha, mr, pa0);
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int nPart = Math.Min(nr, nc - jr);
                            float* bPanel = pb + jr * kc;
                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                int mPart = Math.Min(mr, mc - ir);
                                float* aPanel = pa + ir * kc;
                                float* cTile = pc + cOffset + (ic + ir) * ldc + jc + jr;
                                if (mPart == mr && nPart == nr)
                                    MicroKernel(kc, aPanel, bPanel, cTile, ldc, blockBeta);
                                else
                                    EdgeTile(kc, aPanel, bPanel, cTile, ldc, blockBeta, mPart, nPart);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>A partial tile: the full micro-kernel into a scratch tile, then the valid part merged into C.</summary>
    private static unsafe void EdgeTile(int kc, float* aPanel, float* bPanel, float* c, int ldc, float beta, int mPart, int nPart)
    {
        int nr = Nr;
        float* tile = stackalloc float[8 * 32];
        MicroKernel(kc, aPanel, bPanel, tile, nr, 0f);
        for (int i = 0; i < mPart; i++)
        {
            float* cRow = c + i * ldc;
            float* tRow = tile + i * nr;
            if (beta == 0f) for (int j = 0; j < nPart; j++) cRow[j] = tRow[j];
            else if (beta == 1f) for (int j = 0; j < nPart; j++) cRow[j] += tRow[j];
            else for (int j = 0; j < nPart; j++) cRow[j] = beta * cRow[j] + tRow[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MicroKernel(int kc, float* a, float* b, float* c, int ldc, float beta)
    {
        if (GemmKernelWidth == 512) Kernel8x32(kc, a, b, c, ldc, beta);
        else Kernel6x16(kc, a, b, c, ldc, beta);
    }

    /// <summary>Ã: rows [i0, i0+mc) × cols [p0, p0+kc) of alpha·op(A), as MR-tall panels stored column by column (zero-padded).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot from the first call: no tier-0 pass
    private static unsafe void PackA(bool transA, float[] a, int aOffset, int lda, int i0, int mc, int p0, int kc, float alpha, int mr, float* pd)
    {
        fixed (float* pa = a)
        {
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                float* panel = pd + ir * kc;
                if (!transA && rows == 8 && mr == 8)
                    PackRows8(pa + aOffset + (long)(i0 + ir) * lda + p0, lda, kc, alpha, panel);
                else if (!transA)
                {
                    for (int i = 0; i < rows; i++)
                    {
                        float* src = pa + aOffset + (long)(i0 + ir + i) * lda + p0;
                        for (int p = 0; p < kc; p++) panel[p * mr + i] = alpha * src[p];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = pa + aOffset + (long)(p0 + p) * lda + i0 + ir;
                        float* d = panel + p * mr;
                        for (int i = 0; i < rows; i++) d[i] = alpha * src[i];
                    }
                }
                if (rows < mr)
                    for (int p = 0; p < kc; p++)
                        for (int i = rows; i < mr; i++) panel[p * mr + i] = 0f;
            }
        }
    }

    /// <summary>
    /// Eight rows of A (kc long, lda apart) into an 8-tall panel stored column by column, times alpha: 8×8 blocks
    /// transposed in registers, so the panel is written in order instead of one float every 32 bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot from the first call: no tier-0 pass
    private static unsafe void PackRows8(float* src, int lda, int kc, float alpha, float* panel)
    {
        var va = Vector256.Create(alpha);
        int p = 0;
        for (; p + 8 <= kc; p += 8) Transpose8x8(src + p, lda, panel + p * 8, 8, va);
        for (; p < kc; p++)
        {
            float* d = panel + p * 8;
            for (int i = 0; i < 8; i++) d[i] = alpha * src[(long)i * lda + p];
        }
    }

    /// <summary>
    /// d[c·dstStride + r] = scale · src[r·srcStride + c] (+ add[c]) for an 8×8 block (unpack, shuffle, 128-bit permute):
    /// eight rows read as vectors become eight columns written as vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, long srcStride, float* d, int dstStride, Vector256<float> scale, float* add = null)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride); var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride); var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride); var r7 = Avx.LoadVector256(src + 7 * srcStride);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // (0x44 = lanes 0,1 of each; 0xEE = lanes 2,3 of each): rows 0–3 / 4–7 of columns 4j..4j+1 per 128-bit half
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        StoreColumn(d, 0, dstStride, scale, add, Avx.Permute2x128(u0, u4, 0x20));
        StoreColumn(d, 1, dstStride, scale, add, Avx.Permute2x128(u1, u5, 0x20));
        StoreColumn(d, 2, dstStride, scale, add, Avx.Permute2x128(u2, u6, 0x20));
        StoreColumn(d, 3, dstStride, scale, add, Avx.Permute2x128(u3, u7, 0x20));
        StoreColumn(d, 4, dstStride, scale, add, Avx.Permute2x128(u0, u4, 0x31));
        StoreColumn(d, 5, dstStride, scale, add, Avx.Permute2x128(u1, u5, 0x31));
        StoreColumn(d, 6, dstStride, scale, add, Avx.Permute2x128(u2, u6, 0x31));
        StoreColumn(d, 7, dstStride, scale, add, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Column c of <see cref="Transpose8x8"/>'s block, scaled (and shifted), to d + c·dstStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreColumn(float* d, int c, int dstStride, Vector256<float> scale, float* add, Vector256<float> column)
    {
        var v = Avx.Multiply(scale, column);
        Avx.Store(d + c * dstStride, add == null ? v : v + Vector256.Create(add[c]));
    }

    /// <summary>B̃: rows [p0, p0+kc) × cols [j0, j0+nc) of op(B), as NR-wide panels stored row by row (zero-padded).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot from the first call: no tier-0 pass
    private static unsafe void PackB(bool transB, float[] b, int bOffset, int ldb, int p0, int kc, int j0, int nc, int nr, float[] dst)
    {
        fixed (float* pb = b, pd = dst)
        {
            for (int jr = 0; jr < nc; jr += nr)
            {
                int cols = Math.Min(nr, nc - jr);
                float* panel = pd + jr * kc;
                if (!transB)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = pb + bOffset + (long)(p0 + p) * ldb + j0 + jr;
                        float* d = panel + p * nr;
                        if (cols == nr)
                        {
                            if (nr == 32) { Vector512.Store(Vector512.Load(src), d); Vector512.Store(Vector512.Load(src + 16), d + 16); }
                            else { Vector256.Store(Vector256.Load(src), d); Vector256.Store(Vector256.Load(src + 8), d + 8); }
                        }
                        else
                        {
                            for (int j = 0; j < cols; j++) d[j] = src[j];
                            for (int j = cols; j < nr; j++) d[j] = 0f;
                        }
                    }
                }
                else if (cols == nr)
                {
                    // Eight source rows at a time, 8×8 blocks transposed in registers, each row read in order along p
                    // (eight streams, each cache line used by two consecutive blocks).
                    float* src0 = pb + bOffset + (long)(j0 + jr) * ldb + p0;
                    var one = Vector256.Create(1f);
                    int p8 = kc & ~7;
                    for (int j = 0; j < nr; j += 8)
                    {
                        float* src = src0 + (long)j * ldb;
                        for (int p = 0; p < p8; p += 8) Transpose8x8(src + p, ldb, panel + p * nr + j, nr, one);
                        for (int p = p8; p < kc; p++)
                            for (int i = 0; i < 8; i++) panel[p * nr + j + i] = src[(long)i * ldb + p];
                    }
                }
                else
                {
                    // The last, partial panel: transpose in strips of 16 along p: each source row contributes one cache
                    // line per strip, so power-of-two strides (which alias to one L1 set) cannot thrash.
                    float* src0 = pb + bOffset + (long)(j0 + jr) * ldb + p0;
                    for (int ps = 0; ps < kc; ps += 16)
                    {
                        int pe = Math.Min(kc, ps + 16);
                        for (int j = 0; j < cols; j++)
                        {
                            float* src = src0 + (long)j * ldb;
                            for (int p = ps; p < pe; p++) panel[p * nr + j] = src[p];
                        }
                        for (int p = ps; p < pe; p++)
                            for (int j = cols; j < nr; j++) panel[p * nr + j] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>8×32 tile with AVX-512: 16 accumulators, two B vectors and one A broadcast per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot from the first call: no tier-0 pass
    private static unsafe void Kernel8x32(int kc, float* a, float* b, float* c, int ldc, float beta)
    {
        // the tile's C rows (ldc apart, often on one cache set) are on their way to L1 by the time the sums are stored
        for (int i = 0; i < 8; i++) { Sse.Prefetch0(c + i * ldc); Sse.Prefetch0(c + i * ldc + 16); }
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(av, b0, c00); c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(av, b0, c10); c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(av, b0, c20); c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(av, b0, c30); c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(av, b0, c40); c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(av, b0, c50); c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(av, b0, c60); c61 = Avx512F.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(av, b0, c70); c71 = Avx512F.FusedMultiplyAdd(av, b1, c71);
            a += 8;
            b += 32;
        }
        Store512(c, beta, c00, c01);
        Store512(c + ldc, beta, c10, c11);
        Store512(c + 2 * ldc, beta, c20, c21);
        Store512(c + 3 * ldc, beta, c30, c31);
        Store512(c + 4 * ldc, beta, c40, c41);
        Store512(c + 5 * ldc, beta, c50, c51);
        Store512(c + 6 * ldc, beta, c60, c61);
        Store512(c + 7 * ldc, beta, c70, c71);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store512(float* c, float beta, Vector512<float> v0, Vector512<float> v1)
    {
        // beta = 0 overwrites without reading C (its old contents may be NaN).
        if (beta == 0f) { v0.Store(c); v1.Store(c + 16); }
        else if (beta == 1f) { (Vector512.Load(c) + v0).Store(c); (Vector512.Load(c + 16) + v1).Store(c + 16); }
        else
        {
            var vb = Vector512.Create(beta);
            Avx512F.FusedMultiplyAdd(vb, Vector512.Load(c), v0).Store(c);
            Avx512F.FusedMultiplyAdd(vb, Vector512.Load(c + 16), v1).Store(c + 16);
        }
    }

    /// <summary>6×16 tile with AVX2+FMA: 12 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot from the first call: no tier-0 pass
    private static unsafe void Kernel6x16(int kc, float* a, float* b, float* c, int ldc, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
            a += 6;
            b += 16;
        }
        Store256(c, beta, c00, c01);
        Store256(c + ldc, beta, c10, c11);
        Store256(c + 2 * ldc, beta, c20, c21);
        Store256(c + 3 * ldc, beta, c30, c31);
        Store256(c + 4 * ldc, beta, c40, c41);
        Store256(c + 5 * ldc, beta, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store256(float* c, float beta, Vector256<float> v0, Vector256<float> v1)
    {
        if (beta == 0f) { v0.Store(c); v1.Store(c + 8); }
        else if (beta == 1f) { (Vector256.Load(c) + v0).Store(c); (Vector256.Load(c + 8) + v1).Store(c + 8); }
        else
        {
            var vb = Vector256.Create(beta);
            Fma.MultiplyAdd(vb, Vector256.Load(c), v0).Store(c);
            Fma.MultiplyAdd(vb, Vector256.Load(c + 8), v1).Store(c + 8);
        }
    }

    /// <summary>Rows [r0, r1) of C: the portable row-by-row kernel (small problems, machines without wide FMA).</summary>
    private static void GemmRows(bool transA, bool transB, int r0, int r1, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
        float beta, float[] c, int cOffset, int ldc)
    {
        float[] aRow = ArrayPool<float>.Shared.Rent(Math.Max(k, 1));
        try
        {
            for (int i = r0; i < r1; i++)
            {
                var cRow = c.AsSpan(cOffset + i * ldc, n);
                ScaleRow(cRow, beta);
                for (int p = 0; p < k; p++)
                    aRow[p] = alpha * (transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p]);
                var ar = aRow.AsSpan(0, k);
                if (transB)
                    for (int j = 0; j < n; j++) cRow[j] += DotSpan(ar, b.AsSpan(bOffset + j * ldb, k));
                else
                    for (int p = 0; p < k; p++) AxpySpan(ar[p], b.AsSpan(bOffset + p * ldb, n), cRow);
            }
        }
        finally { ArrayPool<float>.Shared.Return(aRow); }
    }
}
