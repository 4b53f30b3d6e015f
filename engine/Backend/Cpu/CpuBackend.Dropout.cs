using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Inverted dropout with a counter-based random stream: element i keeps with probability 1 − p,
// decided by SplitMix64(seed + i), so the mask depends only on (seed, i), never on threading.
public sealed partial class CpuBackend
{
    /// <summary>SplitMix64 finaliser of <paramref name="counter"/>.</summary>
    internal static ulong SplitMix64(ulong counter)
    {
        ulong z = counter + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform float in [0, 1) for element <paramref name="index"/> of the stream <paramref name="seed"/> (24 random bits).</summary>
    internal static float DropoutUniform(ulong seed, long index) => (SplitMix64(seed + (ulong)index) >> 40) * (1f / (1 << 24));

    public void DropoutForward(Tensor x, float p, ulong seed, Tensor y, Tensor mask)
    {
        BackendContract.DropoutForward(Device, x, p, y, mask);
        float[] xd = Data(x), yd = Data(y), md = Data(mask);
        int n = x.Numel;
        if (p == 0f)
        {
            md.AsSpan(0, n).Fill(1f);
            xd.AsSpan(0, n).CopyTo(yd.AsSpan(0, n));
            return;
        }
        // p = 1 drops everything (PyTorch returns zeros).
        float keep = p >= 1f ? 0f : 1f / (1f - p);
        ForChunks(n, ParallelGrain, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float m = DropoutUniform(seed, i) >= p ? keep : 0f;
                md[i] = m;
                yd[i] = xd[i] * m;
            }
        });
    }
}
