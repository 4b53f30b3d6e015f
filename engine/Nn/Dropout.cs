using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>Inverted dropout; identity in evaluation mode or when p = 0. Each training forward draws a new mask from (Seed, call count).</summary>
public sealed class Dropout : Module
{
    private ulong _calls;

    public Dropout(float p = 0.5f, ulong seed = 0)
    {
        if (p < 0f || p >= 1f) throw new ArgumentException($"Dropout: probability must be in [0, 1), got {p}.");
        P = p;
        Seed = seed;
    }

    public float P { get; }
    public ulong Seed { get; set; }

    public override Tensor Forward(Tensor x)
    {
        if (!Training || P == 0f) return x;
        ulong seed = Mix(Seed, _calls++);
        return F.Dropout(x, P, Training, seed, Describe());
    }

    private static ulong Mix(ulong a, ulong b)
    {
        ulong z = a * 0x9E3779B97F4A7C15UL + b + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public override string Describe() => $"Dropout(p={P})";
}
