using SpikeEngine.Tensors;

namespace SpikeEngine.Nn.Models;

/// <summary>
/// ResNet with QCFS (METHOD.md §8): stem conv1 = [Conv 3×3 stride 1, BN, QCFS] on every data set, ImageNet
/// included (a torchvision-style 7×7 stride-2 stem with AvgPool 3×3 stride 2 only when
/// <see cref="ModelOptions.Stem"/> asks for it), stages conv2_x.. of <see cref="BasicBlock"/>s, global average
/// pool (avg_pool), fc. Layer configurations: <see cref="ArchitectureCatalog.ResNets"/>.
/// </summary>
public sealed class ResNet : Module
{
    public ResNet(ResNetLayout layout, int classes, int levels, ModelOptions options)
    {
        Name = layout.DisplayName;
        Classes = classes;
        Stem = options.Stem;
        var widths = options.Widths ?? layout.Widths;
        if (widths.Length != layout.Blocks.Length || widths.Any(w => w < 1))
            throw new ArgumentException($"{layout.Arch}: Widths needs {layout.Blocks.Length} positive stage widths, got [{string.Join(", ", widths)}].");
        int stemChannels = options.Widths is null ? layout.StemChannels : widths[0];
        int inputs = options.InputChannels ?? 3;
        RegisterChild(ArchitectureCatalog.ResNetStemName, options.Stem switch
        {
            ResNetStem.Reference => new Sequential(new Conv2d(inputs, stemChannels, 3, 1, 1, bias: false), new BatchNorm2d(stemChannels), new Qcfs(levels)),
            _ when !layout.HasImageNetForm => throw new ArgumentException($"{layout.Arch} is a CIFAR network; it has no torchvision-style stem."),
            _ => new Sequential(new Conv2d(inputs, stemChannels, ArchitectureCatalog.TorchvisionStemKernel, 2, 3, bias: false),
                new BatchNorm2d(stemChannels), new Qcfs(levels), new AvgPool2d(3, 2, 1)),
        });
        int channels = stemChannels;
        for (int s = 0; s < widths.Length; s++)
        {
            var stage = new List<Module>();
            for (int b = 0; b < layout.Blocks[s]; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1;
                stage.Add(new BasicBlock(channels, widths[s], stride, levels));
                channels = widths[s];
            }
            RegisterChild(ArchitectureCatalog.ResNetStage(s), new Sequential([.. stage]));
        }
        RegisterChild("avg_pool", new GlobalAvgPool2d());
        RegisterChild(ArchitectureCatalog.ResNetFc, new Linear(channels, classes));
    }

    public string Name { get; }
    public int Classes { get; }
    public ResNetStem Stem { get; }

    public static ResNet ResNet20(int classes, int levels, ModelOptions options) => new(ArchitectureCatalog.FindResNet("resnet20")!, classes, levels, options);
    public static ResNet ResNet18(int classes, int levels, ModelOptions options) => new(ArchitectureCatalog.FindResNet("resnet18")!, classes, levels, options);
    public static ResNet ResNet34(int classes, int levels, ModelOptions options) => new(ArchitectureCatalog.FindResNet("resnet34")!, classes, levels, options);

    public override Tensor Forward(Tensor x) => Intermediates.Chain(this, x);

    public override string Describe() => $"{Name}({Classes} classes{(Stem == ResNetStem.Torchvision ? ", torchvision-style stem" : "")})";
}
