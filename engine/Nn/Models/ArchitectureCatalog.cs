namespace SpikeEngine.Nn.Models;

/// <summary>The stem (<c>conv1</c>) of a ResNet-18/34.</summary>
public enum ResNetStem
{
    /// <summary>The reference's stem on every data set, ImageNet included (METHOD.md §8): [Conv 3×3 stride 1 pad 1, BN, QCFS].</summary>
    Reference,
    /// <summary>torchvision-style: [Conv 7×7 stride 2 pad 3, BN, QCFS, AvgPool 3×3 stride 2 pad 1] (average pooling,
    /// as QCFS networks replace max-pooling). A different network from the reference's; only on request.</summary>
    Torchvision,
}

/// <summary>A VGG of the zoo: conv widths per block (<c>layer1..layer5</c>); every block ends in AvgPool 2×2.</summary>
public sealed record VggLayout(string Arch, int Depth, int[][] Blocks)
{
    /// <summary>Width of the classifier's hidden linears in the reference.</summary>
    public const int Hidden = 4096;

    public int[] ConvsPerBlock => Blocks.Select(b => b.Length).ToArray();

    /// <summary>The width of each block (all convs of a block share it).</summary>
    public int[] BlockWidths => Blocks.Select(b => b[0]).ToArray();

    /// <summary>
    /// The first classifier linear's input as the reference chooses it: the class count decides, not the data
    /// set's name — 1000 classes (224 px ImageNet: 7×7 features after five pools) gives width·7·7, otherwise width.
    /// </summary>
    public static int ReferenceClassifierInput(int lastWidth, int classes) => classes == 1000 ? lastWidth * 7 * 7 : lastWidth;
}

/// <summary>A ResNet of the zoo: stem width, then stages <c>conv2_x..</c> of BasicBlocks (first stage stride 1, the others 2).</summary>
public sealed record ResNetLayout(string Arch, string DisplayName, int StemChannels, int[] Widths, int[] Blocks)
{
    /// <summary>resnet20 is a CIFAR network (3 stages of 16/32/64): it has no torchvision-style stem.</summary>
    public bool HasImageNetForm => Widths.Length == 4;
}

/// <summary>
/// The one home of the zoo's layer configurations and state_dict naming (METHOD.md §8): model construction
/// (<see cref="Vgg"/>, <see cref="ResNet"/>) and recognition from a checkpoint's tensors
/// (<c>IO.ArchitectureInference</c>) both read them here.
/// </summary>
public static class ArchitectureCatalog
{
    public static readonly IReadOnlyList<VggLayout> Vggs =
    [
        new("vgg11", 11, [[64], [128], [256, 256], [512, 512], [512, 512]]),
        new("vgg13", 13, [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]]),
        new("vgg16", 16, [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]),
        new("vgg19", 19, [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]]),
    ];

    public static readonly IReadOnlyList<ResNetLayout> ResNets =
    [
        new("resnet18", "ResNet-18", 64, [64, 128, 256, 512], [2, 2, 2, 2]),
        new("resnet20", "ResNet-20", 16, [16, 32, 64], [3, 3, 3]),
        new("resnet34", "ResNet-34", 64, [64, 128, 256, 512], [3, 4, 6, 3]),
    ];

    public static VggLayout? FindVgg(string arch) => Vggs.FirstOrDefault(v => v.Arch == arch);
    public static ResNetLayout? FindResNet(string arch) => ResNets.FirstOrDefault(r => r.Arch == arch);

    // ---- state_dict names (the reference's module names; a checkpoint is keyed by them)

    /// <summary>VGG block b (0-based) is <c>layer{b+1}</c>; inside it conv i (0-based) is module 4·i ([Conv, BN, QCFS, Dropout] per conv).</summary>
    public static string VggBlock(int block) => $"layer{block + 1}";
    public const int VggModulesPerConv = 4;
    public const string VggClassifier = "classifier";
    /// <summary>classifier = [Flatten, Linear, QCFS, Dropout, Linear, QCFS, Dropout, Linear]: the linears are modules 1, 4 and 7.</summary>
    public static readonly int[] VggClassifierLinears = [1, 4, 7];

    public const string ResNetStemName = "conv1";
    /// <summary>ResNet stage s (0-based) is <c>conv{s+2}_x</c>.</summary>
    public static string ResNetStage(int stage) => $"conv{stage + 2}_x";
    public const string ResNetFc = "fc";
    /// <summary>torchvision-style stem geometry: Conv 7×7 stride 2 pad 3, then AvgPool 3×3 stride 2 pad 1.</summary>
    public const int TorchvisionStemKernel = 7;
}
