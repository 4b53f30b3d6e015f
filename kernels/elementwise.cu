// Elementwise ops, fills and reductions (IBackend: Fill, Add, Mul, Axpy, Scale, Sum, bias adds).
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

// y[r, c] += bias[c] for a row-major [rows, cols] matrix (linear layers).
extern "C" __global__ void add_row_bias(float* y, const float* bias, int rows, int cols)
{
    GRID_STRIDE_LOOP(i, rows * cols) y[i] += bias[i % cols];
}

// y[n, c, p] += bias[c] for [N, C, P] (conv layers, P = OutH·OutW).
extern "C" __global__ void add_channel_bias(float* y, const float* bias, int n, int channels, int plane)
{
    GRID_STRIDE_LOOP(i, n * channels * plane) y[i] += bias[(i / plane) % channels];
}

// dbias[c] = sum over rows of dy[r, c] for row-major [rows, cols]; one thread per column, rows in order.
extern "C" __global__ void column_sums(const float* dy, float* dbias, int rows, int cols)
{
    GRID_STRIDE_LOOP(c, cols)
    {
        float acc = 0.0f;
        for (int r = 0; r < rows; ++r) acc += dy[(long long)r * cols + c];
        dbias[c] = acc;
    }
}

// dbias[c] = sum over n and p of dy[n, c, p]; one block per channel.
extern "C" __global__ void channel_sums(const float* dy, float* dbias, int n, int channels, int plane)
{
    const int c = blockIdx.x;
    const int count = n * plane;
    float acc = 0.0f;
    for (int j = threadIdx.x; j < count; j += blockDim.x)
    {
        const int s = j / plane, p = j - s * plane;
        acc += dy[((long long)s * channels + c) * plane + p];
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) dbias[c] = acc;
}
