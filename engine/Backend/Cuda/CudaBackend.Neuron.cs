using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Integrate-and-fire neurons with COS (kernels/neuron.cu): one thread per neuron walks all time steps.
public sealed partial class CudaBackend
{
    public void IfNeuronForward(Tensor input, int steps, float threshold, int presimSteps, int iterations,
        Tensor output, Tensor? initialPotential)
    {
        if (steps < 1 || input.Numel % steps != 0)
            throw new ArgumentException($"IfNeuronForward: input {input.Shape} does not hold {steps} equal time steps.");
        if (presimSteps < 0 || presimSteps > steps)
            throw new ArgumentException($"IfNeuronForward: pre-simulation length {presimSteps} must be in [0, {steps}] (the input holds {steps} steps).");
        if (iterations < 1) throw new ArgumentException($"IfNeuronForward: iterations must be >= 1, got {iterations}.");
        if (!(threshold > 0f)) throw new ArgumentException($"IfNeuronForward: threshold must be > 0, got {threshold}.");
        int neurons = input.Numel / steps;
        if (initialPotential is not null && initialPotential.Numel != neurons)
            throw new ArgumentException($"IfNeuronForward: initialPotential has {initialPotential.Numel} elements, expected {neurons}.");
        Launch(CudaKernels.IfNeuronForward, neurons, A(input), steps, neurons, threshold, presimSteps, iterations,
            A(output), A(initialPotential, optional: true));
    }

    public void IfNeuronStep(Tensor input, float threshold, Tensor membrane, Tensor output)
    {
        if (!(threshold > 0f)) throw new ArgumentException($"IfNeuronStep: threshold must be > 0, got {threshold}.");
        Launch(CudaKernels.IfNeuronStep, input.Numel, A(input), threshold, A(membrane), A(output), input.Numel);
    }
}
