using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>[N, ...] → [N, prod(...)] as a view.</summary>
public sealed class Flatten : Module
{
    public override Tensor Forward(Tensor x) => F.Flatten(x, Describe());
    public override string Describe() => "Flatten()";
}

/// <summary>Returns its input.</summary>
public sealed class Identity : Module
{
    public override Tensor Forward(Tensor x) => x;
    public override string Describe() => "Identity()";
}
