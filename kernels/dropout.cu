// Dropout with a counter-based hash, so the mask depends only on (seed, element index) and is the
// same on every device (CpuBackend.Dropout.cs): z = seed + i + 0x9E3779B97F4A7C15, then the SplitMix64
// finaliser; u = top 24 bits / 2^24 in [0, 1); the element is kept when u >= p and then scaled by
// 1/(1 − p) (p = 1 drops everything: the comparison never holds).
#include "common.cuh"

__device__ __forceinline__ unsigned long long splitmix64_mix(unsigned long long z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

extern "C" __global__ void dropout_forward(const float* x, float p, unsigned long long seed, float* y, float* mask, int n)
{
    const float keepScale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
    GRID_STRIDE_LOOP(i, n)
    {
        const unsigned long long h = splitmix64_mix(seed + (unsigned long long)i + 0x9E3779B97F4A7C15ull);
        const float u = (float)(h >> 40) * (1.0f / 16777216.0f);
        const float m = u >= p ? keepScale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}
