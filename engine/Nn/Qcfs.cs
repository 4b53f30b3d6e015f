using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// The QCFS activation (METHOD.md §1) with its trainable threshold λ stored as parameter "up"
/// (shape [1], initial 8.0) and the quantisation level L.
/// </summary>
public sealed class Qcfs : Module
{
    public const float InitialThreshold = 8f;

    public Qcfs(int levels, float threshold = InitialThreshold)
    {
        Levels = levels;
        RegisterParameter("up", Tensor.Full(new Shape(1), threshold));
    }

    private int _levels;

    /// <summary>The quantisation level L (≥ 1).</summary>
    public int Levels
    {
        get => _levels;
        set
        {
            if (value < 1) throw new ArgumentException($"QCFS: the quantisation level L must be at least 1, got {value}.");
            _levels = value;
        }
    }

    /// <summary>λ, the threshold (one-element tensor "up").</summary>
    public Tensor Up => Get("up");

    public override Tensor Forward(Tensor x) => F.Qcfs(x, Up, Levels, Describe());

    public override string Describe() => $"Qcfs(L={Levels})";
}
