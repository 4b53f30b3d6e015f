using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// The reference initialisation, applied over a module tree: conv weights Kaiming-normal
/// (fan_out, ReLU gain: std = √(2 / (out·k·k))), conv bias 0; BatchNorm weight 1, bias 0; linear
/// weights as PyTorch's default (uniform ±1/√in, what the reference keeps), linear bias 0;
/// QCFS λ = 8 (or <c>threshold</c>); dropout seeds derived from the seed. Deterministic for a given seed.
/// </summary>
public static class Initialization
{
    public static void Reference(Module model, int seed = 0, float threshold = Qcfs.InitialThreshold)
    {
        var rng = new Random(seed);
        foreach (var (_, m) in model.NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                {
                    float std = MathF.Sqrt(2f / (conv.OutChannels * conv.KernelSize * conv.KernelSize));
                    Set(conv.Weight, Normal(rng, conv.Weight.Numel, std));
                    if (conv.Bias is { } b) b.Backend.Fill(b, 0f);
                    break;
                }
                case Linear lin:
                {
                    float bound = 1f / MathF.Sqrt(lin.InFeatures);
                    Set(lin.Weight, Uniform(rng, lin.Weight.Numel, bound));
                    if (lin.Bias is { } b) b.Backend.Fill(b, 0f);
                    break;
                }
                case BatchNorm2d bn:
                    bn.Weight.Backend.Fill(bn.Weight, 1f);
                    bn.Bias.Backend.Fill(bn.Bias, 0f);
                    break;
                case Qcfs q:
                    q.Up.Backend.Fill(q.Up, threshold);
                    break;
                case Dropout d:
                    d.Seed = (ulong)rng.NextInt64();
                    break;
            }
        }
    }

    private static void Set(Tensor t, float[] values) => t.Backend.CopyFromHost(values, t);

    internal static float[] Normal(Random rng, int n, float std)
    {
        var v = new float[n];
        for (int i = 0; i < n; i += 2)
        {
            // Box–Muller: two independent normals per pair of uniforms.
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1)) * std;
            v[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < n) v[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
        return v;
    }

    internal static float[] Uniform(Random rng, int n, float bound)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        return v;
    }
}
