// QCFS activation (engine/METHOD.md §1): q = floor(x·L/λ + 1/2)/L, y = λ·clamp(q, 0, 1).
#include "common.cuh"

__device__ __forceinline__ float qcfs_q(float x, float lambda, int levels)
{
    return floorf(x * (float)levels / lambda + 0.5f) / (float)levels;
}

extern "C" __global__ void qcfs_forward(const float* x, const float* lambda, int levels, float* y, int n)
{
    const float lam = lambda[0];
    GRID_STRIDE_LOOP(i, n)
    {
        const float q = qcfs_q(x[i], lam, levels);
        y[i] = lam * fminf(fmaxf(q, 0.0f), 1.0f);
    }
}

// dx = dy·[0 ≤ q ≤ 1]; partials[block] = Σ dy·(clamp(q,0,1) − (x/λ)·[0 ≤ q ≤ 1]) over the block's share
// (finished by reduce_partials_to_float into dλ).
extern "C" __global__ void qcfs_backward(const float* dy, const float* x, const float* lambda, int levels,
    float* dx, double* partials, int n)
{
    const float lam = lambda[0];
    double acc = 0.0;
    GRID_STRIDE_LOOP(i, n)
    {
        const float q = qcfs_q(x[i], lam, levels);
        const bool inside = q >= 0.0f && q <= 1.0f;
        dx[i] = inside ? dy[i] : 0.0f;
        const float dLam = fminf(fmaxf(q, 0.0f), 1.0f) - (inside ? x[i] / lam : 0.0f);
        acc += (double)(dy[i] * dLam);
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// out[0] = (float) Σ partials[0..count); one block.
extern "C" __global__ void reduce_partials_to_float(const double* partials, int count, float* out)
{
    double acc = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
    acc = block_sum(acc);
    if (threadIdx.x == 0) out[0] = (float)acc;
}
