using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Optimiser update rules.
public sealed partial class CpuBackend
{
    /// <summary>PyTorch SGD (dampening 0, no Nesterov): d = g + wd·p; buf = first ? d : μ·buf + d; p −= lr·buf.</summary>
    public void SgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay, bool firstStep)
    {
        float[] pd = Data(param), gd = Data(grad), bd = Data(momentumBuffer);
        ForChunks(param.Numel, ParallelGrain, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float d = gd[i] + weightDecay * pd[i];
                float b = firstStep ? d : momentum * bd[i] + d;
                bd[i] = b;
                pd[i] -= lr * b;
            }
        });
    }
}
