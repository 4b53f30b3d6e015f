namespace SpikeEngine.Tests.Snn;

internal static class SnnTestModels
{
    /// <summary>The engine's "cnn" with reference initialisation, random BatchNorm statistics and thresholds λ in [1, 2.5].</summary>
    public static Module Cnn(int seed, int levels = 4)
    {
        var model = ModelZoo.Create("cnn", 10, levels, new ModelOptions { Seed = seed });
        Randomise(model, seed);
        return model;
    }

    public static void Randomise(Module model, int seed)
    {
        var rng = new Random(seed);
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is BatchNorm2d bn)
            {
                Fill(bn.Weight, () => 0.5f + (float)rng.NextDouble());
                Fill(bn.Bias, () => 0.3f * (float)(rng.NextDouble() - 0.3));
                Fill(bn.RunningMean, () => 0.2f * (float)(rng.NextDouble() - 0.5));
                Fill(bn.RunningVar, () => 0.5f + (float)rng.NextDouble());
            }
            else if (m is Qcfs q) Fill(q.Up, () => 1f + 1.5f * (float)rng.NextDouble());
        }
    }

    public static Tensor Images(int batch, int channels, int size, int seed)
    {
        var rng = new Random(seed);
        var data = new float[batch * channels * size * size];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 1.5);
        return Tensor.FromArray(data, new Shape(batch, channels, size, size));
    }

    private static void Fill(Tensor t, Func<float> next)
    {
        var a = new float[t.Numel];
        for (int i = 0; i < a.Length; i++) a[i] = next();
        t.Backend.CopyFromHost(a, t);
    }
}
