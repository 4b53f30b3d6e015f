namespace SpikeEngine.Data;

/// <summary>
/// An 8-bit image transform (augmentation, resize, crop). Randomness comes only from the given
/// generator, which the loader seeds per (seed, epoch, sample) so results do not depend on threading.
/// </summary>
public interface IImageTransform
{
    Image Apply(Image image, Random rng);
}

/// <summary>Applies transforms in order.</summary>
public sealed class Compose(params IImageTransform[] transforms) : IImageTransform
{
    public IReadOnlyList<IImageTransform> Transforms { get; } = transforms;

    public Image Apply(Image image, Random rng)
    {
        foreach (var t in Transforms) image = t.Apply(image, rng);
        return image;
    }
}
