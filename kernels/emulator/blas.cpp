// The cuBLAS calls engine/Cuda/Cublas.cs binds, on the emulated device: column-major SGEMM with cuBLAS's
// argument rules (CUBLAS_STATUS_INVALID_VALUE for bad sizes or leading dimensions), host-side alpha/beta,
// beta = 0 meaning C is not read (so a NaN in uninitialised C does not leak), and every matrix checked to
// lie inside one device allocation (CUBLAS_STATUS_EXECUTION_FAILED otherwise, with the emulator's reason).
// Sums run over k in order in float, like a plain loop; the engine's tests compare GEMMs with tolerances.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace emu {
std::mutex& device_lock();
bool device_range(uintptr_t address, size_t bytes);
void set_detail(int code, const std::string& detail);
}

namespace {

enum : int { Ok = 0, NotInitialized = 1, InvalidValue = 7, ExecutionFailed = 13 };
constexpr int OpN = 0, OpT = 1, OpC = 2;

struct Handle { int magic; };
constexpr int Magic = 0x5EB1A5;

bool valid(void* h) { return h != nullptr && static_cast<Handle*>(h)->magic == Magic; }

/// Bytes spanned by a column-major rows×cols matrix with leading dimension ld (0 when empty).
size_t extent(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : ((size_t)(cols - 1) * ld + rows) * sizeof(float); }

int check_matrix(const char* which, uintptr_t p, int rows, int cols, int ld)
{
    const size_t bytes = extent(rows, cols, ld);
    if (bytes == 0 || emu::device_range(p, bytes)) return Ok;
    emu::set_detail(ExecutionFailed, std::string("cublasSgemm: matrix ") + which + " (" + std::to_string(rows) + "x" +
        std::to_string(cols) + ", ld " + std::to_string(ld) + ") is not inside one device allocation");
    return ExecutionFailed;
}

/// C = alpha·op(A)·op(B) + beta·C for one matrix triple (column-major).
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
    float beta, float* c, int ldc)
{
    // op(A) packed column-major m×k, so column p of op(A) is contiguous; C's column j accumulates Σ_p op(A)[:,p]·op(B)[p,j].
    std::vector<float> ap((size_t)m * k), acc(m);
    for (int p = 0; p < k; p++)
        for (int i = 0; i < m; i++)
            ap[(size_t)p * m + i] = ta ? a[(size_t)i * lda + p] : a[(size_t)p * lda + i];
    for (int j = 0; j < n; j++) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int p = 0; p < k; p++) {
            const float bpj = tb ? b[(size_t)p * ldb + j] : b[(size_t)j * ldb + p];
            const float* col = &ap[(size_t)p * m];
            for (int i = 0; i < m; i++) acc[i] += col[i] * bpj;
        }
        float* cj = c + (size_t)j * ldc;
        if (beta == 0.0f) for (int i = 0; i < m; i++) cj[i] = alpha * acc[i];
        else for (int i = 0; i < m; i++) cj[i] = alpha * acc[i] + beta * cj[i];
    }
}

int sgemm(void* handle, int transA, int transB, int m, int n, int k, const float* alpha, uintptr_t a, int lda,
    long long strideA, uintptr_t b, int ldb, long long strideB, const float* beta, uintptr_t c, int ldc, long long strideC, int batch)
{
    if (!valid(handle)) return NotInitialized;
    if ((transA != OpN && transA != OpT && transA != OpC) || (transB != OpN && transB != OpT && transB != OpC)) return InvalidValue;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || alpha == nullptr || beta == nullptr) return InvalidValue;
    const bool ta = transA != OpN, tb = transB != OpN;
    const int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
    if (lda < (aRows > 1 ? aRows : 1) || ldb < (bRows > 1 ? bRows : 1) || ldc < (m > 1 ? m : 1)) return InvalidValue;
    if (m == 0 || n == 0 || batch == 0) return Ok;
    std::lock_guard<std::mutex> guard(emu::device_lock());
    for (int s = 0; s < batch; s++) {
        const uintptr_t as = a + (uintptr_t)(s * strideA * 4), bs = b + (uintptr_t)(s * strideB * 4), cs = c + (uintptr_t)(s * strideC * 4);
        const bool readsAB = k > 0 && *alpha != 0.0f;
        if (readsAB) {
            if (int r = check_matrix("A", as, aRows, aCols, lda)) return r;
            if (int r = check_matrix("B", bs, bRows, bCols, ldb)) return r;
        }
        if (int r = check_matrix("C", cs, m, n, ldc)) return r;
        float* cp = (float*)cs;
        if (!readsAB) {
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) cp[(size_t)j * ldc + i] = *beta == 0.0f ? 0.0f : *beta * cp[(size_t)j * ldc + i];
            continue;
        }
        gemm(ta, tb, m, n, k, *alpha, (const float*)as, lda, (const float*)bs, ldb, *beta, cp, ldc);
    }
    return Ok;
}

} // namespace

#define EXPORT extern "C" __attribute__((visibility("default")))

EXPORT int cublasCreate_v2(void** handle)
{
    if (!handle) return InvalidValue;
    *handle = new Handle{Magic};
    return Ok;
}
EXPORT int cublasDestroy_v2(void* handle)
{
    if (!valid(handle)) return NotInitialized;
    static_cast<Handle*>(handle)->magic = 0;
    delete static_cast<Handle*>(handle);
    return Ok;
}
EXPORT int cublasSetStream_v2(void* handle, void*) { return valid(handle) ? Ok : NotInitialized; }
EXPORT int cublasGetVersion_v2(void* handle, int* version)
{
    if (!valid(handle)) return NotInitialized;
    if (!version) return InvalidValue;
    *version = 130000;
    return Ok;
}
EXPORT int cublasSgemm_v2(void* handle, int transA, int transB, int m, int n, int k, const float* alpha, uintptr_t a, int lda,
    uintptr_t b, int ldb, const float* beta, uintptr_t c, int ldc)
{
    return sgemm(handle, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}
EXPORT int cublasSgemmStridedBatched(void* handle, int transA, int transB, int m, int n, int k, const float* alpha,
    uintptr_t a, int lda, long long strideA, uintptr_t b, int ldb, long long strideB, const float* beta, uintptr_t c, int ldc,
    long long strideC, int batch)
{
    return sgemm(handle, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
}
