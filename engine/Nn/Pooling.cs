using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>Average pooling (padding counted in the mean, PyTorch's default). Replaces max-pooling in QCFS networks.</summary>
public sealed class AvgPool2d(int kernel, int stride, int padding = 0) : Module
{
    public int KernelSize { get; } = kernel;
    public int Stride { get; } = stride;
    public int Padding { get; } = padding;

    public override Tensor Forward(Tensor x) => F.AvgPool2d(x, KernelSize, Stride, Padding, Describe());

    public override string Describe() => $"AvgPool2d(kernel={KernelSize}, stride={Stride}, padding={Padding})";
}

/// <summary>Global average pooling followed by flattening: [N,C,H,W] → [N,C] (the reference's AdaptiveAvgPool2d(1) + view).</summary>
public sealed class GlobalAvgPool2d : Module
{
    public override Tensor Forward(Tensor x) => F.GlobalAvgPool(x, Describe());

    public override string Describe() => "GlobalAvgPool2d()";
}
