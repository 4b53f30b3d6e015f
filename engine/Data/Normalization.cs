namespace SpikeEngine.Data;

/// <summary>Per-channel normalisation of [0,1] pixel values: (x − mean) / std.</summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    public int Channels => Mean.Length;

    public static Normalization None(int channels) => new(new float[channels], Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>Fashion-MNIST / MNIST as commonly used: mean 0.5, std 0.5 (maps pixels to [−1, 1]).</summary>
    public static readonly Normalization FashionMnist = new([0.5f], [0.5f]);
    /// <summary>MNIST: the training set's mean and std (0.1307, 0.3081), as in the PyTorch examples.</summary>
    public static readonly Normalization Mnist = new([0.1307f], [0.3081f]);
    public static readonly Normalization Cifar10 = new([0.4914f, 0.4822f, 0.4465f], [0.2023f, 0.1994f, 0.2010f]);
    public static readonly Normalization Cifar100 = new([129.3f / 255, 124.1f / 255, 112.4f / 255], [68.2f / 255, 65.4f / 255, 70.4f / 255]);
    public static readonly Normalization ImageNet = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Writes the normalised floats of <paramref name="image"/> (CHW) to <paramref name="destination"/>.</summary>
    public void Apply(Image image, Span<float> destination)
    {
        if (image.Channels != Channels) throw new ArgumentException($"Normalisation has {Channels} channels but the image has {image.Channels}.");
        int plane = image.Height * image.Width;
        if (destination.Length != plane * Channels) throw new ArgumentException($"Destination holds {destination.Length} floats; the image needs {plane * Channels}.");
        var px = image.Pixels;
        for (int c = 0; c < Channels; c++)
        {
            float scale = 1f / (255f * Std[c]);
            float shift = -Mean[c] / Std[c];
            var dst = destination.Slice(c * plane, plane);
            int o = c * plane;
            for (int i = 0; i < plane; i++) dst[i] = px[o + i] * scale + shift;
        }
    }
}
