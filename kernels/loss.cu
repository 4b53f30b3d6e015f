// Softmax cross-entropy, argmax and top-k over rows of logits [rows, classes]; one thread per row.
#include "common.cuh"

// Label smoothing ε: the target is (1 − ε)·onehot + ε/classes (ε = 0: plain cross-entropy).
// losses[r] = log Σ exp(x − max) − Σ_j target_j (x_j − max); dlogits (when non-null) = (softmax − target)/rows.
extern "C" __global__ void softmax_cross_entropy(const float* logits, const int* labels, float* losses,
    float* dlogits, int rows, int classes, float smoothing)
{
    GRID_STRIDE_LOOP(r, rows)
    {
        const float* x = logits + (long long)r * classes;
        float m = x[0];
        for (int j = 1; j < classes; ++j) m = fmaxf(m, x[j]);
        double sum = 0.0, centred = 0.0;
        for (int j = 0; j < classes; ++j) { sum += (double)expf(x[j] - m); centred += (double)(x[j] - m); }
        const int label = labels[r];
        const double uniform = (double)smoothing / classes;
        losses[r] = (float)(log(sum) - (1.0 - (double)smoothing) * (double)(x[label] - m) - (smoothing == 0.0f ? 0.0 : uniform * centred));
        if (dlogits != nullptr)
        {
            float* d = dlogits + (long long)r * classes;
            const float invRows = 1.0f / (float)rows;
            for (int j = 0; j < classes; ++j)
            {
                const double p = (double)expf(x[j] - m) / sum;
                const double target = (j == label ? 1.0 - (double)smoothing : 0.0) + uniform;
                d[j] = (float)(p - target) * invRows;
            }
        }
    }
}

// Ties go to the lowest index (strict >).
extern "C" __global__ void argmax_rows(const float* x, int* indices, int rows, int classes)
{
    GRID_STRIDE_LOOP(r, rows)
    {
        const float* xr = x + (long long)r * classes;
        int best = 0;
        for (int j = 1; j < classes; ++j) if (xr[j] > xr[best]) best = j;
        indices[r] = best;
    }
}

// correct[r] = 1 when the label ranks among the k largest; rank = #(x_j > x_l) + #(j < l, x_j == x_l).
extern "C" __global__ void topk_correct(const float* x, const int* labels, int* correct, int rows, int classes, int k)
{
    GRID_STRIDE_LOOP(r, rows)
    {
        const float* xr = x + (long long)r * classes;
        const int label = labels[r];
        const float v = xr[label];
        int rank = 0;
        for (int j = 0; j < classes; ++j)
            if (xr[j] > v || (j < label && xr[j] == v)) ++rank;
        correct[r] = rank < k ? 1 : 0;
    }
}
