namespace SpikeEngine.Data;

/// <summary>A decoded 8-bit image, channels-first (CHW planar): Pixels[c·H·W + y·W + x].</summary>
public sealed class Image
{
    public Image(int channels, int height, int width, byte[]? pixels = null)
    {
        if (channels < 1 || height < 1 || width < 1) throw new ArgumentException($"Invalid image size {channels}x{height}x{width}.");
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels ?? new byte[channels * height * width];
        if (Pixels.Length != channels * height * width)
            throw new ArgumentException($"Image {channels}x{height}x{width} needs {channels * height * width} bytes, got {Pixels.Length}.");
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }

    public byte this[int c, int y, int x]
    {
        get => Pixels[(c * Height + y) * Width + x];
        set => Pixels[(c * Height + y) * Width + x] = value;
    }

    public Image Clone() => new(Channels, Height, Width, (byte[])Pixels.Clone());
}
