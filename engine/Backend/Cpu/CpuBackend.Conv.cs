using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// 2-D convolution by im2col + GEMM. Samples are processed in chunks: the column matrix of a chunk is
// col[C·R·S, samples·OutH·OutW], so small feature maps (deep layers) still give the GEMM wide matrices.
// Forward: out[K, cols] = W[K, C·R·S] · col. Backward data: dcol = Wᵀ · dy, folded back by col2im.
// Backward weight: dWᵀ = Σ col · dy[K, cols]ᵀ.
public sealed partial class CpuBackend
{
    /// <summary>GEMM columns a chunk aims for, and the largest column workspace (floats) a chunk may use.</summary>
    private const int ConvTargetColumns = 256, ConvMaxWorkspace = 1 << 22;

    /// <summary>How the batch is cut for one convolution: samples per chunk, chunk count, and threads per GEMM.</summary>
    private (int PerChunk, int Chunks, int GemmThreads) ConvPlan(Conv2dGeometry g)
    {
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        int per = Math.Clamp((ConvTargetColumns + ohw - 1) / ohw, 1, Math.Max(1, g.N));
        while (per > 1 && (long)crs * per * ohw > ConvMaxWorkspace) per--;
        int chunks = (g.N + per - 1) / per;
        // Enough chunks: one chunk per thread, single-threaded GEMMs; otherwise threads inside each GEMM.
        return (per, chunks, chunks >= Threads ? 1 : Threads);
    }

    /// <summary>Runs body(chunk) over all chunks: in parallel when each GEMM is single-threaded.</summary>
    private void ForConvChunks(int chunks, int gemmThreads, Action<int> body)
    {
        if (gemmThreads == 1) ForEach(chunks, body);
        else for (int i = 0; i < chunks; i++) body(i);
    }

    /// <summary>True when the convolution reads the input exactly as its column matrix (1×1, stride 1, no padding).</summary>
    private static bool IsPointwise(Conv2dGeometry g) => g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    public void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g)
    {
        BackendContract.Conv2dForward(Device, x, w, bias, y, g);
        float[] xd = Data(x), wd = Data(w), yd = Data(y);
        float[]? bd = bias is null ? null : Data(bias);
        if (TryConv2dForwardEvents(xd, wd, bd, yd, g)) return;
        if (UseWinograd(g)) { Conv2dForwardWinograd(xd, wd, bd, yd, g); return; }
        if (UseDirectConv(g)) { Conv2dForwardDirect(xd, wd, bd, yd, g); return; }
        var (per, chunks, gemmThreads) = ConvPlan(g);
        var samples = Enumerable.Range(0, g.N).ToArray();   // chunk i is samples[i·per ..], one array per call
        using var packedW = PackConvWeights(wd, g, chunks, gemmThreads, transposed: false);
        ForConvChunks(chunks, gemmThreads, chunk =>
        {
            int n0 = chunk * per;
            Im2ColForwardChunk(xd, wd, bd, yd, g, samples.AsSpan(n0, Math.Min(per, g.N - n0)), gemmThreads, packedW);
        });
    }

    /// <summary>
    /// W[K, C·R·S] (or Wᵀ for backward data) packed once for all the chunks' GEMMs, when they are several or split
    /// among threads (each would pack all of it again); null when one single-threaded GEMM packs it anyway.
    /// </summary>
    private PackedGemmA? PackConvWeights(float[] wd, Conv2dGeometry g, int chunks, int gemmThreads, bool transposed)
    {
        if (chunks <= 1 && gemmThreads <= 1) return null;
        int crs = g.C * g.R * g.S;
        return transposed ? PackGemmA(true, crs, g.K, 1f, wd, 0, crs) : PackGemmA(false, g.K, crs, 1f, wd, 0, crs);
    }

    /// <summary>Y = W·B by the packed weights when there are some, else by W itself.</summary>
    private void ConvWeightGemm(PackedGemmA? packedW, bool transposed, int m, int n, int k, float[] wd, int crs,
        float[] b, int bOffset, float[] c, int cOffset, int gemmThreads)
    {
        if (packedW is not null) GemmArrays(packedW, false, n, b, bOffset, n, 0f, c, cOffset, n, gemmThreads);
        else GemmArrays(transposed, false, m, n, k, 1f, wd, 0, crs, b, bOffset, n, 0f, c, cOffset, n, gemmThreads);
    }

    /// <summary>
    /// The forward convolution of the given samples by im2col + one GEMM: their column matrices side by side
    /// (col[C·R·S, samples·OHW]), so that small feature maps still give the GEMM wide matrices.
    /// </summary>
    private void Im2ColForwardChunk(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g, ReadOnlySpan<int> samples, int gemmThreads,
        PackedGemmA? packedW = null)
    {
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        int count = samples.Length, cols = count * ohw;
        if (count == 1)
        {
            // One sample: the GEMM writes straight into y[n] ([K, OHW]).
            int n = samples[0];
            float[]? col = null;
            try
            {
                float[] src; int srcOffset;
                if (IsPointwise(g)) { src = xd; srcOffset = n * inSize; }
                else { col = ArrayPool<float>.Shared.Rent(crs * ohw); Im2Col(xd, n * inSize, g, col, 0, ohw); src = col; srcOffset = 0; }
                ConvWeightGemm(packedW, false, g.K, ohw, crs, wd, crs, src, srcOffset, yd, n * outSize, gemmThreads);
            }
            finally { if (col is not null) ArrayPool<float>.Shared.Return(col); }
            if (bd is not null) AddChannelBias(yd, n * outSize, g.K, ohw, bd);
            return;
        }
        float[] colChunk = ArrayPool<float>.Shared.Rent(crs * cols), outChunk = ArrayPool<float>.Shared.Rent(g.K * cols);
        try
        {
            for (int s = 0; s < count; s++) Im2Col(xd, samples[s] * inSize, g, colChunk, s * ohw, cols);
            ConvWeightGemm(packedW, false, g.K, cols, crs, wd, crs, colChunk, 0, outChunk, 0, gemmThreads);
            // [K, samples·OHW] → [samples, K, OHW]
            for (int s = 0; s < count; s++)
            {
                for (int k = 0; k < g.K; k++)
                    outChunk.AsSpan(k * cols + s * ohw, ohw).CopyTo(yd.AsSpan(samples[s] * outSize + k * ohw, ohw));
                if (bd is not null) AddChannelBias(yd, samples[s] * outSize, g.K, ohw, bd);
            }
        }
        finally { ArrayPool<float>.Shared.Return(colChunk); ArrayPool<float>.Shared.Return(outChunk); }
    }

    public void Conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g)
    {
        BackendContract.Conv2dBackwardData(Device, dy, w, dx, g);
        float[] gy = Data(dy), wd = Data(w), gx = Data(dx);
        if (UseWinograd(g)) { Conv2dBackwardDataWinograd(gy, wd, gx, g); return; }
        if (UseDirectConv(g)) { Conv2dBackwardDataDirect(gy, wd, gx, g); return; }
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        var (per, chunks, gemmThreads) = ConvPlan(g);
        using var packedW = PackConvWeights(wd, g, chunks, gemmThreads, transposed: true);
        ForConvChunks(chunks, gemmThreads, chunk =>
        {
            int n0 = chunk * per, count = Math.Min(per, g.N - n0), cols = count * ohw;
            if (count == 1 && IsPointwise(g))
            {
                // dx[n][C, HW] = Wᵀ[C, K] · dy[n][K, HW]
                ConvWeightGemm(packedW, true, crs, ohw, g.K, wd, crs, gy, n0 * outSize, gx, n0 * inSize, gemmThreads);
                return;
            }
            float[] dcol = ArrayPool<float>.Shared.Rent(crs * cols);
            float[]? dyChunk = count == 1 ? null : ArrayPool<float>.Shared.Rent(g.K * cols);
            try
            {
                float[] src = gy; int srcOffset = n0 * outSize;
                if (dyChunk is not null) { GatherChunk(gy, n0, count, g.K, ohw, dyChunk); src = dyChunk; srcOffset = 0; }
                ConvWeightGemm(packedW, true, crs, cols, g.K, wd, crs, src, srcOffset, dcol, 0, gemmThreads);
                for (int s = 0; s < count; s++)
                {
                    gx.AsSpan((n0 + s) * inSize, inSize).Clear();
                    Col2ImAdd(dcol, s * ohw, cols, g, gx, (n0 + s) * inSize);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(dcol);
                if (dyChunk is not null) ArrayPool<float>.Shared.Return(dyChunk);
            }
        });
    }

    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g)
    {
        BackendContract.Conv2dBackwardWeight(Device, x, dy, dw, dbias, g);
        float[] xd = Data(x), gy = Data(dy), gw = Data(dw);
        if (UseWinograd(g)) Conv2dBackwardWeightWinograd(xd, gy, gw, g);
        else if (UseDirectConv(g)) Conv2dBackwardWeightDirect(xd, gy, gw, g);
        else Conv2dBackwardWeightIm2Col(xd, gy, gw, g);
        if (dbias is not null) ConvBiasGradient(gy, Data(dbias), g);
    }

    private void Conv2dBackwardWeightIm2Col(float[] xd, float[] gy, float[] gw, Conv2dGeometry g)
    {
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        int wSize = g.K * crs;
        var (per, chunks, _) = ConvPlan(g);
        // When the column matrix is the larger operand (more columns than output channels), the GEMM computes
        // dWᵀ[CRS, K] = col · dyᵀ, so col is packed row-wise and only the small dy is read transposed;
        // otherwise dW[K, CRS] = dy · colᵀ directly. Chunks are split into contiguous parts; each part
        // accumulates its own result, the parts are summed in order and written (transposed if needed) to dw.
        bool transposed = per * ohw > g.K;
        int parts = Math.Max(1, Math.Min(Threads, chunks));
        int gemmThreads = parts == 1 ? Threads : 1;
        var partial = new float[parts][];
        for (int p = 0; p < parts; p++) partial[p] = ArrayPool<float>.Shared.Rent(wSize);
        try
        {
            ForEach(parts, p =>
            {
                int c0 = (int)((long)chunks * p / parts), c1 = (int)((long)chunks * (p + 1) / parts);
                float[]? col = null, dyChunk = null;
                try
                {
                    for (int chunk = c0; chunk < c1; chunk++)
                    {
                        int n0 = chunk * per, count = Math.Min(per, g.N - n0), cols = count * ohw;
                        float[] colSrc = xd, dySrc = gy; int colOffset = n0 * inSize, dyOffset = n0 * outSize;
                        if (!(count == 1 && IsPointwise(g)))
                        {
                            col ??= ArrayPool<float>.Shared.Rent(crs * per * ohw);
                            for (int s = 0; s < count; s++) Im2Col(xd, (n0 + s) * inSize, g, col, s * ohw, cols);
                            colSrc = col; colOffset = 0;
                        }
                        if (count > 1)
                        {
                            dyChunk ??= ArrayPool<float>.Shared.Rent(g.K * per * ohw);
                            GatherChunk(gy, n0, count, g.K, ohw, dyChunk);
                            dySrc = dyChunk; dyOffset = 0;
                        }
                        float beta = chunk == c0 ? 0f : 1f;
                        if (transposed)
                            GemmArrays(false, true, crs, g.K, cols, 1f, colSrc, colOffset, cols, dySrc, dyOffset, cols, beta, partial[p], 0, g.K, gemmThreads);
                        else
                            GemmArrays(false, true, g.K, crs, cols, 1f, dySrc, dyOffset, cols, colSrc, colOffset, cols, beta, partial[p], 0, crs, gemmThreads);
                    }
                    if (c0 == c1) partial[p].AsSpan(0, wSize).Clear();
                }
                finally
                {
                    if (col is not null) ArrayPool<float>.Shared.Return(col);
                    if (dyChunk is not null) ArrayPool<float>.Shared.Return(dyChunk);
                }
            });
            float[] sum = partial[0];
            for (int p = 1; p < parts; p++) AxpySpan(1f, partial[p].AsSpan(0, wSize), sum.AsSpan(0, wSize));
            if (!transposed) sum.AsSpan(0, wSize).CopyTo(gw);
            else
                for (int j = 0; j < crs; j++)
                    for (int k = 0; k < g.K; k++) gw[k * crs + j] = sum[j * g.K + k];
        }
        finally
        {
            for (int p = 0; p < parts; p++) ArrayPool<float>.Shared.Return(partial[p]);
        }
    }

    private void ConvBiasGradient(float[] gy, float[] gb, Conv2dGeometry g)
    {
        int ohw = g.OutH * g.OutW, outSize = g.K * ohw;
        ForEach(g.K, k =>
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += SumSpan(gy.AsSpan(n * outSize + k * ohw, ohw));
            gb[k] = (float)s;
        });
    }

    private static void AddChannelBias(float[] y, int offset, int channels, int plane, float[] bias)
    {
        for (int k = 0; k < channels; k++)
        {
            var p = y.AsSpan(offset + k * plane, plane);
            float b = bias[k];
            for (int j = 0; j < p.Length; j++) p[j] += b;
        }
    }

    /// <summary>[samples, K, OHW] starting at sample n0 → [K, samples·OHW].</summary>
    private static void GatherChunk(float[] src, int n0, int count, int channels, int plane, float[] dst)
    {
        int cols = count * plane;
        for (int s = 0; s < count; s++)
            for (int k = 0; k < channels; k++)
                src.AsSpan(((n0 + s) * channels + k) * plane, plane).CopyTo(dst.AsSpan(k * cols + s * plane, plane));
    }

    /// <summary>The output columns j whose input column j·stride − pad + offset lies inside [0, size).</summary>
    private static (int Start, int End) ValidRange(int outSize, int stride, int pad, int offset, int size)
    {
        int lo = pad - offset, start = lo <= 0 ? 0 : (lo + stride - 1) / stride;
        int hi = size - 1 + pad - offset, end = hi < 0 ? 0 : Math.Min(outSize, hi / stride + 1);
        return (Math.Min(start, end), end);
    }

    /// <summary>
    /// Writes one sample's columns into col (row stride ld, starting at column colOffset):
    /// col[(c·R + r)·S + s, oh·OutW + ow] = x[c, oh·sh − ph + r, ow·sw − pw + s] (0 outside).
    /// </summary>
    internal static unsafe void Im2Col(float[] x, int xOffset, Conv2dGeometry g, float[] col, int colOffset, int ld)
    {
        fixed (float* px = x, pc = col) WalkColumns<GatherRows>(px + xOffset, pc + colOffset, ld, g);
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds each column entry back onto the input position it was read from.</summary>
    internal static unsafe void Col2ImAdd(float[] col, int colOffset, int ld, Conv2dGeometry g, float[] x, int xOffset)
    {
        fixed (float* px = x, pc = col) WalkColumns<ScatterAddRows>(px + xOffset, pc + colOffset, ld, g);
    }

    /// <summary>What <see cref="WalkColumns{TRows}"/> does with each row of the column matrix and the image run it reads.</summary>
    private unsafe interface IColumnRows
    {
        /// <summary>Row (c, r, s) of the column matrix, before its runs: the output rows [0, i0) and [i1, OH) lie outside the image.</summary>
        static abstract void Begin(float* row, int i0, int i1, int oh, int ow);
        /// <summary>Output row i of it (<paramref name="colRun"/>, OW long) and the image row it reads, from column 0 on (columns [j0, j1) lie inside).</summary>
        static abstract void Run(float* colRun, float* image, int j0, int j1, int ow, int stride);
    }

    /// <summary>
    /// Walks one sample's column matrix row by row with the image positions each entry reads. Pointer loops rather
    /// than span calls: the deep layers' rows are 2–8 floats long, where a call per row costs more than the copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WalkColumns<TRows>(float* x, float* col, int ld, Conv2dGeometry g) where TRows : struct, IColumnRows
    {
        int oh = g.OutH, ow = g.OutW;
        for (int c = 0; c < g.C; c++)
        for (int r = 0; r < g.R; r++)
        {
            var (i0, i1) = ValidRange(oh, g.StrideH, g.PadH, r, g.H);
            for (int s = 0; s < g.S; s++)
            {
                var (j0, j1) = ValidRange(ow, g.StrideW, g.PadW, s, g.W);
                float* row = col + ((c * g.R + r) * g.S + s) * ld;
                TRows.Begin(row, i0, i1, oh, ow);
                for (int i = i0; i < i1; i++)
                    TRows.Run(row + i * ow, x + (c * g.H + i * g.StrideH - g.PadH + r) * g.W - g.PadW + s, j0, j1, ow, g.StrideW);
            }
        }
    }

    /// <summary>im2col: copy the image run into the column row, zeros outside the image.</summary>
    private readonly unsafe struct GatherRows : IColumnRows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Begin(float* row, int i0, int i1, int oh, int ow)
        {
            ZeroRun(row, i0 * ow);
            ZeroRun(row + i1 * ow, (oh - i1) * ow);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run(float* colRun, float* image, int j0, int j1, int ow, int stride)
        {
            ZeroRun(colRun, j0);
            ZeroRun(colRun + j1, ow - j1);
            if (stride == 1) CopyRun(image + j0, colRun + j0, j1 - j0);
            else for (int j = j0; j < j1; j++) colRun[j] = image[j * stride];
        }
    }

    /// <summary>col2im: add the column row onto the image run.</summary>
    private readonly unsafe struct ScatterAddRows : IColumnRows
    {
        public static void Begin(float* row, int i0, int i1, int oh, int ow) { }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run(float* colRun, float* image, int j0, int j1, int ow, int stride)
        {
            if (stride == 1) AddRun(colRun + j0, image + j0, j1 - j0);
            else for (int j = j0; j < j1; j++) image[j * stride] += colRun[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ZeroRun(float* p, int n)
    {
        int j = 0;
        for (; j + Vector<float>.Count <= n; j += Vector<float>.Count) Unsafe.WriteUnaligned(p + j, Vector<float>.Zero);
        for (; j < n; j++) p[j] = 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void CopyRun(float* src, float* dst, int n)
    {
        int j = 0;
        for (; j + Vector<float>.Count <= n; j += Vector<float>.Count) Unsafe.WriteUnaligned(dst + j, Unsafe.ReadUnaligned<Vector<float>>(src + j));
        for (; j < n; j++) dst[j] = src[j];
    }

    /// <summary>dst[j] += src[j] for j &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddRun(float* src, float* dst, int n)
    {
        int j = 0;
        for (; j + Vector<float>.Count <= n; j += Vector<float>.Count)
            Unsafe.WriteUnaligned(dst + j, Unsafe.ReadUnaligned<Vector<float>>(dst + j) + Unsafe.ReadUnaligned<Vector<float>>(src + j));
        for (; j < n; j++) dst[j] += src[j];
    }
}
