// PyTorch SGD: d = grad + wd·param; buf = first ? d : momentum·buf + d; param −= lr·buf.
#include "common.cuh"

extern "C" __global__ void sgd_update(float* param, const float* grad, float* buf, float lr, float momentum,
    float weightDecay, int firstStep, int n)
{
    GRID_STRIDE_LOOP(i, n)
    {
        const float d = grad[i] + weightDecay * param[i];
        const float b = firstStep ? d : momentum * buf[i] + d;
        buf[i] = b;
        param[i] = param[i] - lr * b;
    }
}
