using SpikeEngine.Tensors;

namespace SpikeEngine.Nn.Models;

/// <summary>
/// ResNet with QCFS (cos.md §8): stem conv1 = [Conv, BN, QCFS] (CIFAR: 3×3 stride 1; ImageNet:
/// 7×7 stride 2 pad 3 plus AvgPool 3×3 stride 2 pad 1), stages conv2_x.. of <see cref="BasicBlock"/>s,
/// global average pool (avg_pool), fc.
/// </summary>
public sealed class ResNet : Module
{
    public ResNet(string name, int stemChannels, int[] stageChannels, int[] blocks, int classes, int levels, ModelOptions options)
    {
        Name = name;
        Classes = classes;
        RegisterChild("conv1", options.ImageNet
            ? new Sequential(new Conv2d((options.InputChannels ?? 3), stemChannels, 7, 2, 3, bias: false), new BatchNorm2d(stemChannels), new Qcfs(levels), new AvgPool2d(3, 2, 1))
            : new Sequential(new Conv2d((options.InputChannels ?? 3), stemChannels, 3, 1, 1, bias: false), new BatchNorm2d(stemChannels), new Qcfs(levels)));
        int channels = stemChannels;
        for (int s = 0; s < stageChannels.Length; s++)
        {
            var stage = new List<Module>();
            for (int b = 0; b < blocks[s]; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1;
                stage.Add(new BasicBlock(channels, stageChannels[s], stride, levels));
                channels = stageChannels[s];
            }
            RegisterChild($"conv{s + 2}_x", new Sequential([.. stage]));
        }
        RegisterChild("avg_pool", new GlobalAvgPool2d());
        RegisterChild("fc", new Linear(channels, classes));
    }

    public string Name { get; }
    public int Classes { get; }

    public static ResNet ResNet20(int classes, int levels, ModelOptions options) =>
        new("ResNet-20", 16, [16, 32, 64], [3, 3, 3], classes, levels, options);
    public static ResNet ResNet18(int classes, int levels, ModelOptions options) =>
        new("ResNet-18", 64, [64, 128, 256, 512], [2, 2, 2, 2], classes, levels, options);
    public static ResNet ResNet34(int classes, int levels, ModelOptions options) =>
        new("ResNet-34", 64, [64, 128, 256, 512], [3, 4, 6, 3], classes, levels, options);

    public override Tensor Forward(Tensor x) => Intermediates.Chain(this, x);

    public override string Describe() => $"{Name}({Classes} classes)";
}
