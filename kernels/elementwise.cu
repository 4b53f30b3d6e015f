// Elementwise ops, fill, the deterministic sum, clamp and the strided block copy (IBackend: Fill, Add, Mul, Axpy,
// Scale, Sum, Clamp, ClampBackward, CopyBlocks).
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

// y = min(max(x, lo), hi): ReLU (lo 0, hi +inf) and ONNX Clip(0, m).
extern "C" __global__ void ew_clamp(const float* x, float lo, float hi, float* y, int n)
{
    GRID_STRIDE_LOOP(i, n) y[i] = fminf(fmaxf(x[i], lo), hi);
}

// dx = dy where lo < x < hi, else 0.
extern "C" __global__ void ew_clamp_backward(const float* dy, const float* x, float lo, float hi, float* dx, int n)
{
    GRID_STRIDE_LOOP(i, n) dx[i] = (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
}

// blocks runs of length floats: run b from src[src_offset + b*src_stride] to dst[dst_offset + b*dst_stride]
// (channel concatenation: one run per image and input).
extern "C" __global__ void copy_blocks(const float* src, int src_offset, int src_stride, float* dst, int dst_offset, int dst_stride,
                                       int blocks, int length)
{
    long long total = (long long)blocks * length;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        long long b = i / length, j = i % length;
        dst[dst_offset + b * dst_stride + j] = src[src_offset + b * src_stride + j];
    }
}
