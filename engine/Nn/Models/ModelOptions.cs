namespace SpikeEngine.Nn.Models;

/// <summary>
/// Construction options of the model zoo.
/// Dropout: the reference passes one probability to every Dropout of a VGG (after each conv and
/// in the classifier) and defaults it to 0; we do the same (0 = the layers are present, as their
/// indices are part of the parameter names, but inactive).
/// The shape options (<see cref="Stem"/>, <see cref="ClassifierInput"/>, <see cref="Widths"/>, <see cref="Hidden"/>,
/// <see cref="InputChannels"/>) default to the reference network; <c>IO.ArchitectureInference</c> sets them from a
/// checkpoint's tensors so that the model built is the one the file holds.
/// </summary>
public sealed record ModelOptions
{
    /// <summary>
    /// The data set is ImageNet (224 px). VGG: the first classifier linear takes 512·7·7 (as the reference does for 1000
    /// classes). ResNet-18/34 keep the reference's 3×3 stride-1 stem (METHOD.md §8; <see cref="Stem"/> selects the
    /// torchvision-style one). resnet20 and cnn reject it.
    /// </summary>
    public bool ImageNet { get; init; }
    /// <summary>ResNet-18/34 stem; the reference's on every data set unless asked otherwise.</summary>
    public ResNetStem Stem { get; init; } = ResNetStem.Reference;
    /// <summary>VGG: features into the first classifier linear, last block width·k·k for a k×k final map; null = the
    /// reference's choice (width·7·7 for 1000 classes or <see cref="ImageNet"/>, else width).</summary>
    public int? ClassifierInput { get; init; }
    /// <summary>Non-standard widths: VGG one per block (5), ResNet one per stage (the stem takes the first); null = the reference's.</summary>
    public int[]? Widths { get; init; }
    /// <summary>VGG: width of the two hidden classifier linears; null = the reference's 4096.</summary>
    public int? Hidden { get; init; }
    public float Dropout { get; init; }
    public int Seed { get; init; }
    /// <summary>Initial λ of every QCFS unit (METHOD.md §1: the reference's 8). A training choice: a λ near the values
    /// training ends at (1–3 on CIFAR) lets the first epochs quantise finely instead of at steps of 8 / L.</summary>
    public float InitialThreshold { get; init; } = Qcfs.InitialThreshold;
    /// <summary>Apply the reference initialisation (false leaves conv/linear weights at zero, e.g. before loading a checkpoint).</summary>
    public bool Initialize { get; init; } = true;
    /// <summary>Image channels; null = the architecture's default (3 for VGG/ResNet, 1 for cnn).</summary>
    public int? InputChannels { get; init; }
}
