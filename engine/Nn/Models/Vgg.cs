using SpikeEngine.Tensors;

namespace SpikeEngine.Nn.Models;

/// <summary>
/// VGG with QCFS (METHOD.md §8): layer1..layer5, each [Conv3×3 pad 1 (bias), BN, QCFS, Dropout] per
/// conv and AvgPool 2×2 stride 2 at the end; classifier = [Flatten, Linear(512 or 512·7·7, 4096),
/// QCFS, Dropout, Linear(4096, 4096), QCFS, Dropout, Linear(4096, classes)]. Layer configurations:
/// <see cref="ArchitectureCatalog.Vggs"/>.
/// </summary>
public sealed class Vgg : Module
{
    public Vgg(int depth, int classes, int levels, ModelOptions options)
        : this(ArchitectureCatalog.Vggs.FirstOrDefault(v => v.Depth == depth)
            ?? throw new ArgumentException($"VGG depth {depth} is not supported ({string.Join(", ", ArchitectureCatalog.Vggs.Select(v => v.Depth))})."),
            classes, levels, options) { }

    public Vgg(VggLayout layout, int classes, int levels, ModelOptions options)
    {
        Depth = layout.Depth;
        Classes = classes;
        var widths = options.Widths ?? layout.BlockWidths;
        if (widths.Length != layout.Blocks.Length || widths.Any(w => w < 1))
            throw new ArgumentException($"{layout.Arch}: Widths needs {layout.Blocks.Length} positive block widths, got [{string.Join(", ", widths)}].");
        int channels = options.InputChannels ?? 3;
        for (int b = 0; b < layout.Blocks.Length; b++)
        {
            var layers = new List<Module>();
            for (int i = 0; i < layout.Blocks[b].Length; i++)
            {
                layers.Add(new Conv2d(channels, widths[b], 3, 1, 1, bias: true));
                layers.Add(new BatchNorm2d(widths[b]));
                layers.Add(new Qcfs(levels));
                layers.Add(new Dropout(options.Dropout));
                channels = widths[b];
            }
            layers.Add(new AvgPool2d(2, 2));
            RegisterChild(ArchitectureCatalog.VggBlock(b), new Sequential([.. layers]));
        }
        int features = options.ClassifierInput
            ?? (options.ImageNet ? channels * 7 * 7 : VggLayout.ReferenceClassifierInput(channels, classes));
        int grid = (int)Math.Round(Math.Sqrt(features / (double)channels));
        if (features % channels != 0 || grid * grid * channels != features)
            throw new ArgumentException($"{layout.Arch}: ClassifierInput {features} is not {channels}·k·k (the flattened last block of {channels} channels).");
        int hidden = options.Hidden ?? VggLayout.Hidden;
        RegisterChild(ArchitectureCatalog.VggClassifier, new Sequential(
            new Flatten(),
            new Linear(features, hidden), new Qcfs(levels), new Dropout(options.Dropout),
            new Linear(hidden, hidden), new Qcfs(levels), new Dropout(options.Dropout),
            new Linear(hidden, classes)));
    }

    public int Depth { get; }
    public int Classes { get; }

    public override Tensor Forward(Tensor x) => Intermediates.Chain(this, x);

    public override string Describe() => $"VGG-{Depth}({Classes} classes)";
}
