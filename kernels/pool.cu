// Average pooling (count_include_pad: the divisor is always kernelH·kernelW, as PyTorch's default)
// and global average pooling. Backward passes gather, so no atomics.
#include "common.cuh"

extern "C" __global__ void avgpool_forward(const float* x, float* y, int planes, int H, int W,
    int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, int outH, int outW)
{
    const float inv = 1.0f / (float)(kernelH * kernelW);
    GRID_STRIDE_LOOP(i, planes * outH * outW)
    {
        const int ow = i % outW, oh = (i / outW) % outH, plane = i / (outW * outH);
        const float* xp = x + (long long)plane * H * W;
        float acc = 0.0f;
        for (int r = 0; r < kernelH; ++r)
        {
            const int h = oh * strideH - padH + r;
            if (h < 0 || h >= H) continue;
            for (int s = 0; s < kernelW; ++s)
            {
                const int w = ow * strideW - padW + s;
                if (w < 0 || w >= W) continue;
                acc += xp[h * W + w];
            }
        }
        y[i] = acc * inv;
    }
}

extern "C" __global__ void avgpool_backward(const float* dy, float* dx, int planes, int H, int W,
    int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, int outH, int outW)
{
    const float inv = 1.0f / (float)(kernelH * kernelW);
    GRID_STRIDE_LOOP(i, planes * H * W)
    {
        const int w = i % W, h = (i / W) % H, plane = i / (W * H);
        const float* dyp = dy + (long long)plane * outH * outW;
        float acc = 0.0f;
        for (int r = 0; r < kernelH; ++r)
        {
            const int hp = h + padH - r;
            if (hp < 0 || hp % strideH != 0) continue;
            const int oh = hp / strideH;
            if (oh >= outH) continue;
            for (int s = 0; s < kernelW; ++s)
            {
                const int wp = w + padW - s;
                if (wp < 0 || wp % strideW != 0) continue;
                const int ow = wp / strideW;
                if (ow >= outW) continue;
                acc += dyp[oh * outW + ow];
            }
        }
        dx[i] = acc * inv;
    }
}

// y[plane] = mean of x's plane (one thread per plane, summed in order).
extern "C" __global__ void global_avgpool_forward(const float* x, float* y, int planes, int size)
{
    GRID_STRIDE_LOOP(i, planes)
    {
        const float* xp = x + (long long)i * size;
        float acc = 0.0f;
        for (int j = 0; j < size; ++j) acc += xp[j];
        y[i] = acc / (float)size;
    }
}

extern "C" __global__ void global_avgpool_backward(const float* dy, float* dx, int planes, int size)
{
    GRID_STRIDE_LOOP(i, planes * size) dx[i] = dy[i / size] / (float)size;
}
