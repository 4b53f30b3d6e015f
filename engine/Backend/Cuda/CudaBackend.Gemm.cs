using SpikeEngine.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Row-major GEMM on cuBLAS (the linear and conv families call RowMajorGemm*). cuBLAS is column-major:
// a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so every call swaps the operands
// (and m with n) and keeps the leading dimensions and transpose flags as they are.
public sealed partial class CudaBackend
{
    private unsafe void RowMajorGemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc)
    {
        if (m == 0 || n == 0) return;
        _context.MakeCurrent();
        Cublas.Check(Cublas.cublasSgemm_v2(_cublas, transB ? Cublas.OpT : Cublas.OpN, transA ? Cublas.OpT : Cublas.OpN,
            n, m, k, &alpha, b.Address, ldb, a.Address, lda, &beta, c.Address, ldc), "cublasSgemm_v2");
    }

    private unsafe void RowMajorGemmBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, long strideA, DevicePointer b, int ldb, long strideB,
        float beta, DevicePointer c, int ldc, long strideC, int batch)
    {
        if (m == 0 || n == 0 || batch == 0) return;
        _context.MakeCurrent();
        Cublas.Check(Cublas.cublasSgemmStridedBatched(_cublas, transB ? Cublas.OpT : Cublas.OpN, transA ? Cublas.OpT : Cublas.OpN,
            n, m, k, &alpha, b.Address, ldb, strideB, a.Address, lda, strideA, &beta, c.Address, ldc, strideC, batch),
            "cublasSgemmStridedBatched");
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, int aOffset, int lda,
        Tensor b, int bOffset, int ldb, float beta, Tensor c, int cOffset, int ldc)
    {
        BackendContract.Gemm(Device, transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        RowMajorGemm(transA, transB, m, n, k, alpha, P(a, "a").Floats(aOffset), lda, P(b, "b").Floats(bOffset), ldb,
            beta, P(c, "c").Floats(cOffset), ldc);
    }
}
