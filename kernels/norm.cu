// BatchNorm over [N, C, P] (P = H·W, or 1 for [N, C]); statistics per channel.
// Training and backward use one block per channel (blockDim a multiple of 32), two passes over the
// channel's N·P values; sums in double so the result does not depend on the summation order much.
#include "common.cuh"

__device__ __forceinline__ long long bn_index(int j, int c, int channels, int plane)
{
    const int s = j / plane, p = j - s * plane;
    return ((long long)s * channels + c) * plane + p;
}

extern "C" __global__ void bn_forward_training(const float* x, const float* gamma, const float* beta,
    float* runningMean, float* runningVar, float momentum, float eps, float* y, float* saveMean,
    float* saveInvStd, int n, int channels, int plane)
{
    const int c = blockIdx.x;
    const int count = n * plane;
    double sum = 0.0;
    for (int j = threadIdx.x; j < count; j += blockDim.x) sum += (double)x[bn_index(j, c, channels, plane)];
    sum = block_sum(sum);
    const double mean = sum / count;
    double sq = 0.0;
    for (int j = threadIdx.x; j < count; j += blockDim.x)
    {
        const double d = (double)x[bn_index(j, c, channels, plane)] - mean;
        sq += d * d;
    }
    sq = block_sum(sq);
    const double var = sq / count; // biased: used to normalise
    const float meanF = (float)mean;
    const float invStd = (float)(1.0 / sqrt(var + eps));
    // y = x·scale + shift, as the CPU reference computes it
    const float scale = gamma[c] * invStd, shift = beta[c] - meanF * scale;
    for (int j = threadIdx.x; j < count; j += blockDim.x)
    {
        const long long k = bn_index(j, c, channels, plane);
        y[k] = x[k] * scale + shift;
    }
    if (threadIdx.x == 0)
    {
        runningMean[c] = (float)((1.0 - momentum) * runningMean[c] + momentum * mean);
        runningVar[c] = (float)((1.0 - momentum) * runningVar[c] + momentum * var * count / (count > 1 ? count - 1 : 1));
        saveMean[c] = meanF;
        saveInvStd[c] = invStd;
    }
}

extern "C" __global__ void bn_forward_inference(const float* x, const float* gamma, const float* beta,
    const float* runningMean, const float* runningVar, float eps, float* y, int n, int channels, int plane)
{
    GRID_STRIDE_LOOP(i, n * channels * plane)
    {
        const int c = (i / plane) % channels;
        const float scale = gamma[c] / sqrtf(runningVar[c] + eps), shift = beta[c] - runningMean[c] * scale;
        y[i] = x[i] * scale + shift;
    }
}

// dx = γ·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy, with x̂ = (x − mean)·invStd.
extern "C" __global__ void bn_backward(const float* dy, const float* x, const float* gamma,
    const float* saveMean, const float* saveInvStd, float* dx, float* dgamma, float* dbeta,
    int n, int channels, int plane)
{
    const int c = blockIdx.x;
    const int count = n * plane;
    const float mean = saveMean[c], invStd = saveInvStd[c];
    double sumDy = 0.0, sumDyXhat = 0.0;
    for (int j = threadIdx.x; j < count; j += blockDim.x)
    {
        const long long k = bn_index(j, c, channels, plane);
        const float xhat = (x[k] - mean) * invStd;
        sumDy += (double)dy[k];
        sumDyXhat += (double)dy[k] * (double)xhat;
    }
    sumDy = block_sum(sumDy);
    sumDyXhat = block_sum(sumDyXhat);
    const float meanDy = (float)(sumDy / count);
    const float meanDyXhat = (float)(sumDyXhat / count);
    const float scale = gamma[c] * invStd;
    for (int j = threadIdx.x; j < count; j += blockDim.x)
    {
        const long long k = bn_index(j, c, channels, plane);
        const float xhat = (x[k] - mean) * invStd;
        dx[k] = scale * (dy[k] - meanDy - xhat * meanDyXhat);
    }
    if (threadIdx.x == 0)
    {
        dgamma[c] = (float)sumDyXhat;
        dbeta[c] = (float)sumDy;
    }
}
