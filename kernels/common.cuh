// Shared helpers for the SpikeEngine kernels. Every kernel is extern "C" (unmangled names, looked up
// by cuModuleGetFunction) and takes only pointers, int, float and unsigned long long parameters, in
// the order declared by the matching KernelSpec in engine/Backend/Cuda/CudaKernels.cs.
// Kernels use grid-stride loops so any grid size is correct. The index is 64-bit: with n close to 2^31
// (a time-major ImageNet activation) an int index would overflow when it steps past n.
#pragma once

#define GRID_STRIDE_LOOP(i, n) \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024); the result is valid in every thread.
template <typename T>
__device__ __forceinline__ T block_sum(T v)
{
    __shared__ T warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    __syncthreads(); // protects warp_sums from a previous call
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    const int warps = blockDim.x >> 5;
    T total = 0;
    for (int w = 0; w < warps; ++w) total += warp_sums[w];
    return total;
}
