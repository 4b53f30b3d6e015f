// Integrate-and-fire neurons with offset-spike calibration (engine/METHOD.md §3–4), potentials in units of θ.
#include "common.cuh"

// One thread per neuron j of a layer with `neurons` neurons; input/output are time-major
// [steps, neurons]. The thread reads its ρ pre-simulation inputs and its `steps` inputs once each
// (from global memory, coalesced across the warp), keeps v in a register and writes θ·s(t).
extern "C" __global__ void if_neuron_forward(const float* input, int steps, int neurons, float threshold,
    int presimSteps, int iterations, float* output, float* initialPotential)
{
    GRID_STRIDE_LOOP(j, neurons)
    {
        float v0 = 0.5f;
        if (presimSteps > 0)
        {
            for (int it = 0; it < iterations; ++it)
            {
                float v = v0;
                int spikes = 0;
                float uMin = 1000.0f;   // smallest pre-reset potential over spiking steps
                float wMax = -1000.0f;  // largest potential over silent steps (−1000 when none, as the reference)
                for (int t = 0; t < presimSteps; ++t)
                {
                    v = v + input[(long long)t * neurons + j] / threshold;
                    if (v >= 1.0f) { ++spikes; uMin = fminf(uMin, v); v = v - 1.0f; }
                    else wMax = fmaxf(wMax, v);
                }
                if (v < 0.0f && spikes > 0) v0 = v0 - fmaxf(1.0f, uMin - 0.999f);
                else if (v >= 1.0f) v0 = v0 + fmaxf(1.0f, 1.001f - wMax);
            }
        }
        if (initialPotential != nullptr) initialPotential[j] = v0;
        float v = v0;
        for (int t = 0; t < steps; ++t)
        {
            const long long k = (long long)t * neurons + j;
            v = v + input[k] / threshold;
            const bool spike = v >= 1.0f;
            if (spike) v = v - 1.0f;
            output[k] = spike ? threshold : 0.0f;
        }
    }
}

// Streaming: one step for every neuron; membrane is read and updated.
extern "C" __global__ void if_neuron_step(const float* input, float threshold, float* membrane, float* output, int n)
{
    GRID_STRIDE_LOOP(j, n)
    {
        float v = membrane[j] + input[j] / threshold;
        const bool spike = v >= 1.0f;
        if (spike) v = v - 1.0f;
        membrane[j] = v;
        output[j] = spike ? threshold : 0.0f;
    }
}
