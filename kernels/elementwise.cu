// Elementwise ops, fill and the deterministic sum (IBackend: Fill, Add, Mul, Axpy, Scale, Sum).
#include "common.cuh"

extern "C" __global__ void ew_fill(float* y, float value, int n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = value;
}

extern "C" __global__ void ew_add(const float* a, const float* b, float* y, int n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = a[i] + b[i];
}

extern "C" __global__ void ew_mul(const float* a, const float* b, float* y, int n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = a[i] * b[i];
}

// y += alpha * x (no fused multiply-add: build.cuda.sh passes -fmad=false to mirror the CPU rounding).
extern "C" __global__ void ew_axpy(float alpha, const float* x, float* y, int n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = y[i] + alpha * x[i];
}

extern "C" __global__ void ew_scale(const float* x, float alpha, float* y, int n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = alpha * x[i];
}

// Stage one of a deterministic sum: partials[block] = sum of the block's grid-stride share, in double.
extern "C" __global__ void reduce_sum_partials(const float* x, int n, double* partials)
{
    double acc = 0.0;
    GRID_STRIDE_LOOP(i, n) acc += (double)x[i];
    acc = block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}
