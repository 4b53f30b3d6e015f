using SpikeEngine.Backend.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>Row-major GEMM on cuBLAS against the CPU backend.</summary>
public class CudaGemmTests : GpuTestBase
{
    private const float Atol = 1e-4f, Rtol = 1e-4f;

    [TestCase(false, false, 5, 7, 3)]
    [TestCase(true, false, 33, 17, 64)]
    [TestCase(false, true, 64, 65, 129)]
    [TestCase(true, true, 1, 300, 40)]
    public void GemmWithOffsetsAndLeadingDimensionsMatchesCpu(bool transA, bool transB, int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n + k);
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2;
        int aRows = transA ? k : m, bRows = transB ? n : k;
        int aOff = 5, bOff = 2, cOff = 7;
        var (a, ga) = BothRandom(rng, new Shape(aOff + aRows * lda));
        var (b, gb) = BothRandom(rng, new Shape(bOff + bRows * ldb));
        var (c, gc) = BothRandom(rng, new Shape(cOff + m * ldc));
        Cpu.Gemm(transA, transB, m, n, k, 0.75f, a, aOff, lda, b, bOff, ldb, 0.5f, c, cOff, ldc);
        Cuda.Gemm(transA, transB, m, n, k, 0.75f, ga, aOff, lda, gb, bOff, ldb, 0.5f, gc, cOff, ldc);
        AssertClose(c, gc, Atol, Rtol, "C (including the untouched padding)");
    }
}
