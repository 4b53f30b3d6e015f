using SpikeEngine.Tensors;

namespace SpikeEngine.Nn.Models;

/// <summary>
/// A small QCFS CNN for 28×28 single-channel images (Fashion-MNIST), named like the VGG blocks:
/// layer1 = [Conv 1→32 3×3 pad 1, BN, QCFS, AvgPool 2], layer2 = [Conv 32→64 3×3 pad 1, BN, QCFS, AvgPool 2],
/// classifier = [Flatten, Linear(64·7·7, classes)].
/// </summary>
public sealed class SmallCnn : Module
{
    public SmallCnn(int classes, int levels, ModelOptions options)
    {
        Classes = classes;
        RegisterChild("layer1", new Sequential(
            new Conv2d(options.InputChannels ?? 1, 32, 3, 1, 1), new BatchNorm2d(32), new Qcfs(levels), new AvgPool2d(2, 2)));
        RegisterChild("layer2", new Sequential(
            new Conv2d(32, 64, 3, 1, 1), new BatchNorm2d(64), new Qcfs(levels), new AvgPool2d(2, 2)));
        RegisterChild("classifier", new Sequential(new Flatten(), new Linear(64 * 7 * 7, classes)));
    }

    public int Classes { get; }

    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != 4 || x.Shape[2] != 28 || x.Shape[3] != 28)
            throw new ArgumentException($"cnn: expects [N, C, 28, 28] images, got {x.Shape}.");
        return Intermediates.Chain(this, x);
    }

    public override string Describe() => $"SmallCnn({Classes} classes)";
}
