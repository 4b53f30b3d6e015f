using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Spiking neuron kernels (owned by the SNN work).
public sealed partial class CpuBackend
{
    public void IfNeuronForward(Tensor input, int steps, float threshold, int presimSteps, int iterations,
        Tensor output, Tensor? initialPotential) => throw new NotImplementedException("IfNeuronForward");

    public void IfNeuronStep(Tensor input, float threshold, Tensor membrane, Tensor output)
        => throw new NotImplementedException("IfNeuronStep");
}
