using SpikeEngine.Tensors;

namespace SpikeEngine.Nn.Models;

/// <summary>
/// VGG with QCFS (cos.md §8): layer1..layer5, each [Conv3×3 pad 1 (bias), BN, QCFS, Dropout] per
/// conv and AvgPool 2×2 stride 2 at the end; classifier = [Flatten, Linear(512 or 512·7·7, 4096),
/// QCFS, Dropout, Linear(4096, 4096), QCFS, Dropout, Linear(4096, classes)].
/// </summary>
public sealed class Vgg : Module
{
    private static readonly Dictionary<int, int[][]> Configs = new()
    {
        [11] = [[64], [128], [256, 256], [512, 512], [512, 512]],
        [13] = [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
        [16] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
        [19] = [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
    };

    public Vgg(int depth, int classes, int levels, ModelOptions options)
    {
        if (!Configs.TryGetValue(depth, out var config))
            throw new ArgumentException($"VGG depth {depth} is not supported (11, 13, 16, 19).");
        Depth = depth;
        Classes = classes;
        int channels = (options.InputChannels ?? 3);
        for (int b = 0; b < config.Length; b++)
        {
            var layers = new List<Module>();
            foreach (int width in config[b])
            {
                layers.Add(new Conv2d(channels, width, 3, 1, 1, bias: true));
                layers.Add(new BatchNorm2d(width));
                layers.Add(new Qcfs(levels));
                layers.Add(new Dropout(options.Dropout));
                channels = width;
            }
            layers.Add(new AvgPool2d(2, 2));
            RegisterChild($"layer{b + 1}", new Sequential([.. layers]));
        }
        int features = options.ImageNet ? 512 * 7 * 7 : 512;
        RegisterChild("classifier", new Sequential(
            new Flatten(),
            new Linear(features, 4096), new Qcfs(levels), new Dropout(options.Dropout),
            new Linear(4096, 4096), new Qcfs(levels), new Dropout(options.Dropout),
            new Linear(4096, classes)));
    }

    public int Depth { get; }
    public int Classes { get; }

    public override Tensor Forward(Tensor x) => Intermediates.Chain(this, x);

    public override string Describe() => $"VGG-{Depth}({Classes} classes)";
}
