using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>Fully connected layer: weight [out, in], optional bias [out]. Weights start at zero; see <see cref="Initialization"/>.</summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        if (inFeatures < 1 || outFeatures < 1) throw new ArgumentException($"Linear({inFeatures}, {outFeatures}): feature counts must be positive.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        RegisterParameter("weight", Tensor.Zeros(new Shape(outFeatures, inFeatures)));
        if (bias) RegisterParameter("bias", Tensor.Zeros(new Shape(outFeatures)));
        HasBias = bias;
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public bool HasBias { get; }
    public Tensor Weight => Get("weight");
    public Tensor? Bias => HasBias ? Get("bias") : null;

    public override Tensor Forward(Tensor x) => F.Linear(x, Weight, Bias, Describe());

    public override string Describe() => $"Linear({InFeatures}, {OutFeatures}, bias={HasBias})";
}
