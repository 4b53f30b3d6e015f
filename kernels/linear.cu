// Fully connected layer: the bias add and bias gradient around the cuBLAS GEMMs of CudaBackend.Linear.cs.
#include "common.cuh"

// y[r, c] += bias[c] for a row-major [rows, cols] matrix (linear layers).
extern "C" __global__ void add_row_bias(float* y, const float* bias, int rows, int cols)
{
    GRID_STRIDE_LOOP(i, rows * cols) y[i] += bias[i % cols];
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
