namespace SpikeEngine.Data;

/// <summary>A labelled set of images, read by index. Implementations must be safe to read from several threads.</summary>
public interface IImageDataset
{
    /// <summary>E.g. "FashionMNIST/test".</summary>
    string Name { get; }
    int Count { get; }
    IReadOnlyList<string> ClassNames { get; }
    int GetLabel(int index);
    Image GetImage(int index);
}

/// <summary>Images held in memory as one byte array (CHW per image, all the same size): MNIST, CIFAR.</summary>
public sealed class InMemoryImageDataset(string name, int channels, int height, int width, byte[] pixels, int[] labels, IReadOnlyList<string> classNames)
    : IImageDataset
{
    private readonly byte[] _pixels = Validated(name, channels, height, width, pixels, labels, classNames);
    private readonly int[] _labels = labels;

    private static byte[] Validated(string name, int channels, int height, int width, byte[] pixels, int[] labels, IReadOnlyList<string> classNames)
    {
        int per = channels * height * width;
        if (pixels.Length != per * labels.Length)
            throw new ArgumentException($"{name}: {pixels.Length} pixel bytes do not hold {labels.Length} images of {channels}x{height}x{width}.");
        foreach (var l in labels)
            if (l < 0 || l >= classNames.Count) throw new ArgumentException($"{name}: label {l} is outside 0..{classNames.Count - 1}.");
        return pixels;
    }

    public string Name { get; } = name;
    public int Channels { get; } = channels;
    public int Height { get; } = height;
    public int Width { get; } = width;
    public int Count => _labels.Length;
    public IReadOnlyList<string> ClassNames { get; } = classNames;
    public ReadOnlySpan<int> Labels => _labels;

    public int GetLabel(int index) => _labels[index];

    public Image GetImage(int index)
    {
        int per = Channels * Height * Width;
        return new Image(Channels, Height, Width, _pixels.AsSpan(index * per, per).ToArray());
    }

    /// <summary>The first <paramref name="count"/> images (e.g. --limit).</summary>
    public InMemoryImageDataset Take(int count)
    {
        count = Math.Clamp(count, 0, Count);
        int per = Channels * Height * Width;
        return new InMemoryImageDataset(Name, Channels, Height, Width, _pixels.AsSpan(0, per * count).ToArray(), _labels[..count], ClassNames);
    }
}
