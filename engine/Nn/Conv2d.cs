using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>2-D convolution: parameters weight [out, in, k, k] and (optional) bias [out]. Weights start at zero; see <see cref="Initialization"/>.</summary>
public sealed class Conv2d : Module
{
    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true)
    {
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || stride < 1 || padding < 0)
            throw new ArgumentException($"Conv2d({inChannels}, {outChannels}, kernel={kernel}, stride={stride}, padding={padding}): channels, kernel and stride must be positive and padding non-negative.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernel;
        Stride = stride;
        Padding = padding;
        RegisterParameter("weight", Tensor.Zeros(new Shape(outChannels, inChannels, kernel, kernel)));
        if (bias) RegisterParameter("bias", Tensor.Zeros(new Shape(outChannels)));
        HasBias = bias;
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public bool HasBias { get; }
    public Tensor Weight => Get("weight");
    public Tensor? Bias => HasBias ? Get("bias") : null;

    public override Tensor Forward(Tensor x) => F.Conv2d(x, Weight, Bias, Stride, Padding, Describe());

    public override string Describe() =>
        $"Conv2d({InChannels}, {OutChannels}, kernel={KernelSize}, stride={Stride}, padding={Padding}, bias={HasBias})";
}
