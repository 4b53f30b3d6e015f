using System.Buffers;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Row-major GEMM: C = alpha·op(A)·op(B) + beta·C.
public sealed partial class CpuBackend
{
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb,
        float beta, Tensor c, int cOffset, int ldc)
        => GemmArrays(transA, transB, m, n, k, alpha, Data(a), aOffset, lda, Data(b), bOffset, ldb,
            beta, Data(c), cOffset, ldc, Threads);

    /// <summary>GEMM on raw host arrays with at most <paramref name="threads"/> threads (1 = run on the caller's thread).</summary>
    internal void GemmArrays(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
        float beta, float[] c, int cOffset, int ldc, int threads)
    {
        if (m <= 0 || n <= 0) return;
        long work = (long)m * n * Math.Max(k, 1);
        int parts = threads <= 1 || work < (1 << 18) ? 1 : Math.Min(threads, m);
        if (parts == 1)
        {
            GemmRows(transA, transB, 0, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
            return;
        }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            int r0 = (int)((long)m * p / parts), r1 = (int)((long)m * (p + 1) / parts);
            GemmRows(transA, transB, r0, r1, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
        });
    }

    /// <summary>Rows [r0, r1) of C: simple row-by-row kernel (axpy over B's rows, or dot products when B is transposed).</summary>
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
                // beta = 0 must ignore C's old contents (they may be NaN).
                if (beta == 0f) cRow.Clear();
                else if (beta != 1f) for (int j = 0; j < n; j++) cRow[j] *= beta;
                if (alpha == 0f || k == 0) continue;
                for (int p = 0; p < k; p++)
                    aRow[p] = alpha * (transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p]);
                var ar = aRow.AsSpan(0, k);
                if (transB)
                {
                    for (int j = 0; j < n; j++) cRow[j] += DotSpan(ar, b.AsSpan(bOffset + j * ldb, k));
                }
                else
                {
                    for (int p = 0; p < k; p++)
                        AxpySpan(ar[p], b.AsSpan(bOffset + p * ldb, n), cRow);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(aRow); }
    }
}
