using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Integrate-and-fire neurons with COS (kernels/neuron.cu): one thread per neuron walks all time steps.
public sealed partial class CudaBackend
{
    public void IfNeuronForward(Tensor input, int steps, float threshold, int presimSteps, int iterations,
        Tensor output, Tensor? initialPotential)
    {
        BackendContract.IfNeuronForward(Device, input, steps, threshold, presimSteps, iterations, output, initialPotential);
        int neurons = input.Numel / steps;
        Launch(CudaKernels.IfNeuronForward, neurons, A(input), steps, neurons, threshold, presimSteps, iterations,
            A(output), A(initialPotential, optional: true));
    }

    public void IfNeuronStep(Tensor input, float threshold, Tensor membrane, Tensor output)
    {
        BackendContract.IfNeuronStep(Device, input, threshold, membrane, output);
        Launch(CudaKernels.IfNeuronStep, input.Numel, A(input), threshold, A(membrane), A(output), input.Numel);
    }
}
