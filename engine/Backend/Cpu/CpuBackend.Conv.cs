using System.Buffers;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// 2-D convolution by im2col + GEMM. Per sample: col[C·R·S, OutH·OutW]; y[n] = W[K, C·R·S] · col.
public sealed partial class CpuBackend
{
    /// <summary>True when the convolution reads the input exactly as its column matrix (1×1, stride 1, no padding).</summary>
    private static bool IsPointwise(Conv2dGeometry g) => g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    public void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g)
    {
        float[] dx = Data(x), dw = Data(w), dy = Data(y);
        float[]? db = bias is null ? null : Data(bias);
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        bool pointwise = IsPointwise(g);
        // Many samples: one sample per thread with a single-threaded GEMM; few samples: threads inside the GEMM.
        int gemmThreads = g.N >= Threads ? 1 : Threads;
        void Sample(int n)
        {
            float[]? col = null;
            try
            {
                float[] b; int bOffset;
                if (pointwise) { b = dx; bOffset = n * inSize; }
                else { col = ArrayPool<float>.Shared.Rent(crs * ohw); Im2Col(dx, n * inSize, g, col); b = col; bOffset = 0; }
                GemmArrays(false, false, g.K, ohw, crs, 1f, dw, 0, crs, b, bOffset, ohw, 0f, dy, n * outSize, ohw, gemmThreads);
                if (db is not null)
                    for (int k = 0; k < g.K; k++)
                    {
                        var plane = dy.AsSpan(n * outSize + k * ohw, ohw);
                        float bk = db[k];
                        for (int j = 0; j < plane.Length; j++) plane[j] += bk;
                    }
            }
            finally { if (col is not null) ArrayPool<float>.Shared.Return(col); }
        }
        if (gemmThreads == 1) ForEach(g.N, Sample);
        else for (int n = 0; n < g.N; n++) Sample(n);
    }

    public void Conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g)
    {
        float[] gy = Data(dy), dw = Data(w), gx = Data(dx);
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        bool pointwise = IsPointwise(g);
        int gemmThreads = g.N >= Threads ? 1 : Threads;
        void Sample(int n)
        {
            if (pointwise)
            {
                // dx[n][C, HW] = Wᵀ[C, K] · dy[n][K, HW]
                GemmArrays(true, false, crs, ohw, g.K, 1f, dw, 0, crs, gy, n * outSize, ohw, 0f, gx, n * inSize, ohw, gemmThreads);
                return;
            }
            float[] col = ArrayPool<float>.Shared.Rent(crs * ohw);
            try
            {
                GemmArrays(true, false, crs, ohw, g.K, 1f, dw, 0, crs, gy, n * outSize, ohw, 0f, col, 0, ohw, gemmThreads);
                gx.AsSpan(n * inSize, inSize).Clear();
                Col2ImAdd(col, g, gx, n * inSize);
            }
            finally { ArrayPool<float>.Shared.Return(col); }
        }
        if (gemmThreads == 1) ForEach(g.N, Sample);
        else for (int n = 0; n < g.N; n++) Sample(n);
    }

    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g)
    {
        float[] xd = Data(x), gy = Data(dy), gw = Data(dw);
        int crs = g.C * g.R * g.S, ohw = g.OutH * g.OutW, inSize = g.C * g.H * g.W, outSize = g.K * ohw;
        int wSize = g.K * crs;
        bool pointwise = IsPointwise(g);
        // Samples are split into contiguous parts; each part accumulates its own dw, then the parts are summed in order.
        int parts = Math.Max(1, Math.Min(Threads, g.N));
        int gemmThreads = parts == 1 ? Threads : 1;
        var partial = new float[parts][];
        for (int p = 0; p < parts; p++) partial[p] = p == 0 ? gw : ArrayPool<float>.Shared.Rent(wSize);
        try
        {
            ForEach(parts, p =>
            {
                int n0 = (int)((long)g.N * p / parts), n1 = (int)((long)g.N * (p + 1) / parts);
                float[]? col = pointwise ? null : ArrayPool<float>.Shared.Rent(crs * ohw);
                try
                {
                    for (int n = n0; n < n1; n++)
                    {
                        float[] b; int bOffset;
                        if (col is null) { b = xd; bOffset = n * inSize; }
                        else { Im2Col(xd, n * inSize, g, col); b = col; bOffset = 0; }
                        // dw[K, CRS] (+)= dy[n][K, OHW] · colᵀ[OHW, CRS]
                        GemmArrays(false, true, g.K, crs, ohw, 1f, gy, n * outSize, ohw, b, bOffset, ohw,
                            n == n0 ? 0f : 1f, partial[p], 0, crs, gemmThreads);
                    }
                    if (n0 == n1) partial[p].AsSpan(0, wSize).Clear();
                }
                finally { if (col is not null) ArrayPool<float>.Shared.Return(col); }
            });
            for (int p = 1; p < parts; p++) AxpySpan(1f, partial[p].AsSpan(0, wSize), gw.AsSpan(0, wSize));
        }
        finally
        {
            for (int p = 1; p < parts; p++) ArrayPool<float>.Shared.Return(partial[p]);
        }
        if (dbias is not null)
        {
            float[] gb = Data(dbias);
            ForEach(g.K, k =>
            {
                double s = 0;
                for (int n = 0; n < g.N; n++) s += SumSpan(gy.AsSpan(n * outSize + k * ohw, ohw));
                gb[k] = (float)s;
            });
        }
    }

    /// <summary>Writes the column matrix of one sample: col[(c·R + r)·S + s, oh·OutW + ow] = x[c, oh·sh − ph + r, ow·sw − pw + s] (0 outside).</summary>
    internal static void Im2Col(float[] x, int xOffset, Conv2dGeometry g, float[] col)
    {
        int oh = g.OutH, ow = g.OutW, ohw = oh * ow;
        for (int c = 0; c < g.C; c++)
        for (int r = 0; r < g.R; r++)
        for (int s = 0; s < g.S; s++)
        {
            int row = ((c * g.R + r) * g.S + s) * ohw;
            for (int i = 0; i < oh; i++)
            {
                int ih = i * g.StrideH - g.PadH + r;
                var dst = col.AsSpan(row + i * ow, ow);
                if ((uint)ih >= (uint)g.H) { dst.Clear(); continue; }
                int src = xOffset + (c * g.H + ih) * g.W;
                for (int j = 0; j < ow; j++)
                {
                    int iw = j * g.StrideW - g.PadW + s;
                    dst[j] = (uint)iw < (uint)g.W ? x[src + iw] : 0f;
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds each column entry back onto the input position it was read from.</summary>
    internal static void Col2ImAdd(float[] col, Conv2dGeometry g, float[] x, int xOffset)
    {
        int oh = g.OutH, ow = g.OutW, ohw = oh * ow;
        for (int c = 0; c < g.C; c++)
        for (int r = 0; r < g.R; r++)
        for (int s = 0; s < g.S; s++)
        {
            int row = ((c * g.R + r) * g.S + s) * ohw;
            for (int i = 0; i < oh; i++)
            {
                int ih = i * g.StrideH - g.PadH + r;
                if ((uint)ih >= (uint)g.H) continue;
                int dst = xOffset + (c * g.H + ih) * g.W;
                int src = row + i * ow;
                for (int j = 0; j < ow; j++)
                {
                    int iw = j * g.StrideW - g.PadW + s;
                    if ((uint)iw < (uint)g.W) x[dst + iw] += col[src + j];
                }
            }
        }
    }
}
