using System.Numerics;
using System.Runtime.InteropServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Optimiser update rules.
public sealed partial class CpuBackend
{
    /// <summary>PyTorch SGD (dampening 0, no Nesterov): d = g + wd·p; buf = first ? d : μ·buf + d; p −= lr·buf.</summary>
    public void SgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay, bool firstStep)
    {
        BackendContract.SgdUpdate(Device, param, grad, momentumBuffer, lr, momentum, weightDecay);
        float[] pd = Data(param), gd = Data(grad), bd = Data(momentumBuffer);
        ForChunks(param.Numel, ParallelGrain, (s, e) =>
        {
            int i = s;
            if (Vector.IsHardwareAccelerated)
            {
                var vp = MemoryMarshal.Cast<float, Vector<float>>(pd.AsSpan(s, e - s));
                var vg = MemoryMarshal.Cast<float, Vector<float>>(gd.AsSpan(s, e - s));
                var vb = MemoryMarshal.Cast<float, Vector<float>>(bd.AsSpan(s, e - s));
                Vector<float> wd = new(weightDecay), mu = new(momentum), rate = new(lr);
                for (int v = 0; v < vp.Length; v++)
                {
                    var d = vg[v] + wd * vp[v];
                    var b = firstStep ? d : mu * vb[v] + d;
                    vb[v] = b;
                    vp[v] -= rate * b;
                }
                i = s + vp.Length * Vector<float>.Count;
            }
            for (; i < e; i++)
            {
                float d = gd[i] + weightDecay * pd[i];
                float b = firstStep ? d : momentum * bd[i] + d;
                bd[i] = b;
                pd[i] -= lr * b;
            }
        });
    }
}
