namespace SpikeEngine.Nn.Models;

/// <summary>
/// Construction options of the model zoo.
/// Dropout: the reference passes one probability to every Dropout of a VGG (after each conv and
/// in the classifier) and defaults it to 0; we do the same (0 = the layers are present, as their
/// indices are part of the parameter names, but inactive).
/// </summary>
public sealed record ModelOptions
{
    /// <summary>224 px ImageNet layout: VGG's first classifier linear takes 512·7·7; ResNet-18/34 get the 7×7 stride-2 stem with a 3×3 stride-2 average pool.</summary>
    public bool ImageNet { get; init; }
    public float Dropout { get; init; }
    public int Seed { get; init; }
    /// <summary>Apply the reference initialisation (false leaves conv/linear weights at zero, e.g. before loading a checkpoint).</summary>
    public bool Initialize { get; init; } = true;
    /// <summary>Image channels; null = the architecture's default (3 for VGG/ResNet, 1 for cnn).</summary>
    public int? InputChannels { get; init; }
}
