using SpikeEngine.Tensors;

namespace SpikeEngine.Autograd;

/// <summary>
/// One recorded operation: its inputs, and the rule that turns the gradient of its output into
/// gradients of its inputs (accumulated with <see cref="Grad.Accumulate"/>). Saved holds temporaries
/// (masks, batch statistics) that belong to the node and are released with the graph.
/// </summary>
public sealed class GradNode(string op, Tensor[] inputs, Action<Tensor> backward, Tensor[] saved)
{
    public string Op { get; } = op;
    public Tensor[] Inputs { get; } = inputs;
    public Action<Tensor> Backward { get; } = backward;
    public Tensor[] Saved { get; } = saved;
}
