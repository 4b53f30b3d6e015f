// Convolution by im2col / col2im around cuBLAS SGEMM (the GEMMs are issued from CudaBackend.Conv.cs).
// col layout per sample: [C·R·S, OutH·OutW], row (c, r, s), column (oh, ow) — the same matrix
// the weight [K, C·R·S] multiplies.
#include "common.cuh"

// x: [count, C, H, W] (count samples starting at the given pointer); col: [count, C·R·S, OutH·OutW].
extern "C" __global__ void im2col(const float* x, float* col, int count, int C, int H, int W,
    int R, int S, int strideH, int strideW, int padH, int padW, int outH, int outW)
{
    const int plane = outH * outW;
    const int rows = C * R * S;
    const long long total = (long long)count * rows * plane;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)blockDim.x * gridDim.x)
    {
        const int p = (int)(i % plane);
        const long long rest = i / plane;
        const int row = (int)(rest % rows);
        const int sample = (int)(rest / rows);
        const int c = row / (R * S), rs = row - c * (R * S), r = rs / S, s = rs - r * S;
        const int oh = p / outW, ow = p - oh * outW;
        const int h = oh * strideH - padH + r, w = ow * strideW - padW + s;
        float v = 0.0f;
        if (h >= 0 && h < H && w >= 0 && w < W) v = x[(((long long)sample * C + c) * H + h) * W + w];
        col[i] = v;
    }
}

// dx[sample, c, h, w] = sum of the col entries that im2col copied from (c, h, w); a gather, so no atomics.
extern "C" __global__ void col2im(const float* col, float* dx, int count, int C, int H, int W,
    int R, int S, int strideH, int strideW, int padH, int padW, int outH, int outW)
{
    const int plane = outH * outW;
    const int rows = C * R * S;
    const long long total = (long long)count * C * H * W;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)blockDim.x * gridDim.x)
    {
        const int w = (int)(i % W);
        const int h = (int)((i / W) % H);
        const int c = (int)((i / ((long long)W * H)) % C);
        const int sample = (int)(i / ((long long)W * H * C));
        float acc = 0.0f;
        for (int r = 0; r < R; ++r)
        {
            const int hp = h + padH - r; // = oh·strideH
            if (hp < 0 || hp % strideH != 0) continue;
            const int oh = hp / strideH;
            if (oh >= outH) continue;
            for (int s = 0; s < S; ++s)
            {
                const int wp = w + padW - s;
                if (wp < 0 || wp % strideW != 0) continue;
                const int ow = wp / strideW;
                if (ow >= outW) continue;
                const int row = (c * R + r) * S + s;
                acc += col[((long long)sample * rows + row) * plane + oh * outW + ow];
            }
        }
        dx[i] = acc;
    }
}

// y[r, i, p] = x[i, r, p]: [count, rows, plane] → [rows, count·plane], so the samples of a chunk form one
// matrix and backward-weight is a single GEMM over (sample, position) instead of one per sample.
extern "C" __global__ void batch_to_rows(const float* x, float* y, int count, int rows, int plane)
{
    const long long total = (long long)count * rows * plane;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < total; k += (long long)blockDim.x * gridDim.x)
    {
        const int p = (int)(k % plane);
        const long long rest = k / plane;
        const int r = (int)(rest % rows);
        const int i = (int)(rest / rows);
        y[((long long)r * count + i) * plane + p] = x[k];
    }
}

// y[n, c, p] += bias[c] for [N, C, P] (conv layers, P = OutH·OutW).
extern "C" __global__ void add_channel_bias(float* y, const float* bias, int n, int channels, int plane)
{
    GRID_STRIDE_LOOP(i, n * channels * plane) y[i] += bias[(i / plane) % channels];
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
