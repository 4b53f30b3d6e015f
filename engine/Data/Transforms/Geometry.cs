namespace SpikeEngine.Data;

/// <summary>torchvision RandomCrop(size, padding, fill 0): zero-pad every side, then crop at a random offset.</summary>
public sealed class RandomCrop(int size, int padding = 0) : IImageTransform
{
    public int Size { get; } = size > 0 ? size : throw new ArgumentException($"RandomCrop size must be positive (got {size}).");
    public int Padding { get; } = padding >= 0 ? padding : throw new ArgumentException($"RandomCrop padding must be ≥ 0 (got {padding}).");

    public Image Apply(Image image, Random rng)
    {
        int h = image.Height + 2 * Padding, w = image.Width + 2 * Padding;
        if (h < Size || w < Size)
            throw new ArgumentException($"RandomCrop({Size}, padding {Padding}): the padded image {h}x{w} is smaller than the crop.");
        // Same draw order as torchvision: top (i) then left (j), each uniform over the valid offsets.
        int top = rng.Next(h - Size + 1);
        int left = rng.Next(w - Size + 1);
        return ImageGeometry.Crop(image, top - Padding, left - Padding, Size, Size, fill: 0);
    }
}

/// <summary>torchvision RandomHorizontalFlip(p): mirror left-right with probability p.</summary>
public sealed class RandomHorizontalFlip(double p = 0.5) : IImageTransform
{
    public double P { get; } = p;

    public Image Apply(Image image, Random rng) => rng.NextDouble() < P ? ImageGeometry.FlipHorizontal(image) : image;
}

/// <summary>torchvision CenterCrop(size): offsets round((H−h)/2), round((W−w)/2) (round half to even), zero fill if the image is smaller.</summary>
public sealed class CenterCrop(int height, int width) : IImageTransform
{
    public CenterCrop(int size) : this(size, size) { }
    public int Height { get; } = height;
    public int Width { get; } = width;

    public Image Apply(Image image, Random rng)
    {
        int top = (int)Math.Round((image.Height - Height) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((image.Width - Width) / 2.0, MidpointRounding.ToEven);
        return ImageGeometry.Crop(image, top, left, Height, Width, fill: 0);
    }
}

/// <summary>
/// torchvision Resize with PIL bilinear (antialiased when shrinking). With one size, the shorter side
/// becomes <c>size</c> and the longer side int(size·long/short); with two, the exact height and width.
/// </summary>
public sealed class Resize : IImageTransform
{
    public Resize(int shorterSide) { ShorterSide = shorterSide; }
    public Resize(int height, int width) { Height = height; Width = width; }

    public int? ShorterSide { get; }
    public int? Height { get; }
    public int? Width { get; }

    public (int height, int width) OutputSize(int h, int w)
    {
        if (ShorterSide is int s)
            return h <= w ? (s, (int)((long)s * w / h)) : ((int)((long)s * h / w), s);
        return (Height!.Value, Width!.Value);
    }

    public Image Apply(Image image, Random rng)
    {
        var (h, w) = OutputSize(image.Height, image.Width);
        return h == image.Height && w == image.Width ? image : ImageGeometry.ResizeBilinear(image, h, w);
    }
}

/// <summary>
/// torchvision RandomResizedCrop(size, scale, ratio) with bilinear resizing: up to 10 tries for a crop of
/// random area (fraction of the image in <c>scale</c>) and log-uniform aspect ratio in <c>ratio</c>, else a
/// centred crop clamped to the ratio range.
/// </summary>
public sealed class RandomResizedCrop(int size, double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4, double maxRatio = 4.0 / 3) : IImageTransform
{
    public int Size { get; } = size;

    public (int top, int left, int height, int width) SampleBox(int height, int width, Random rng)
    {
        double area = (double)height * width;
        double logMin = Math.Log(minRatio), logMax = Math.Log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (minScale + rng.NextDouble() * (maxScale - minScale));
            double aspect = Math.Exp(logMin + rng.NextDouble() * (logMax - logMin));
            int w = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
                return (rng.Next(height - h + 1), rng.Next(width - w + 1), h, w);
        }
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < minRatio) { cw = width; ch = (int)Math.Round(cw / minRatio, MidpointRounding.ToEven); }
        else if (inRatio > maxRatio) { ch = height; cw = (int)Math.Round(ch * maxRatio, MidpointRounding.ToEven); }
        else { cw = width; ch = height; }
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    public Image Apply(Image image, Random rng)
    {
        var (top, left, h, w) = SampleBox(image.Height, image.Width, rng);
        return ImageGeometry.ResizeBilinear(ImageGeometry.Crop(image, top, left, h, w, fill: 0), Size, Size);
    }
}

/// <summary>Pixel-exact geometric helpers shared by the transforms.</summary>
public static class ImageGeometry
{
    /// <summary>The window [top, top+height) × [left, left+width); pixels outside the image get <paramref name="fill"/>.</summary>
    public static Image Crop(Image image, int top, int left, int height, int width, byte fill)
    {
        var result = new Image(image.Channels, height, width);
        if (fill != 0) Array.Fill(result.Pixels, fill);
        int y0 = Math.Max(0, top), y1 = Math.Min(image.Height, top + height);
        int x0 = Math.Max(0, left), x1 = Math.Min(image.Width, left + width);
        if (x1 <= x0) return result;
        for (int c = 0; c < image.Channels; c++)
            for (int y = y0; y < y1; y++)
                Array.Copy(image.Pixels, (c * image.Height + y) * image.Width + x0,
                    result.Pixels, (c * height + y - top) * width + x0 - left, x1 - x0);
        return result;
    }

    public static Image FlipHorizontal(Image image)
    {
        var result = new Image(image.Channels, image.Height, image.Width);
        int w = image.Width;
        for (int row = 0; row < image.Channels * image.Height; row++)
        {
            var src = image.Pixels.AsSpan(row * w, w);
            var dst = result.Pixels.AsSpan(row * w, w);
            src.CopyTo(dst);
            dst.Reverse();
        }
        return result;
    }

    /// <summary>
    /// PIL's BILINEAR resize (Image.resize): separable triangle filter whose support grows with the
    /// shrink factor (antialiasing), horizontal pass first; weights normalised per output pixel and
    /// applied in 22-bit fixed point with rounding, as Pillow does, so results match it bit for bit.
    /// </summary>
    public static Image ResizeBilinear(Image image, int height, int width)
    {
        if (height < 1 || width < 1) throw new ArgumentException($"Resize target {height}x{width} is empty.");
        int c = image.Channels, ih = image.Height, iw = image.Width;
        var mid = image.Pixels;
        if (width != iw)
        {
            var horizontal = Coefficients(iw, width);
            mid = new byte[c * ih * width];
            for (int row = 0; row < c * ih; row++)
                for (int x = 0; x < width; x++)
                {
                    var (start, weights) = horizontal[x];
                    int s = Half;
                    for (int k = 0; k < weights.Length; k++) s += weights[k] * image.Pixels[row * iw + start + k];
                    mid[row * width + x] = Clip8(s);
                }
        }
        if (height == ih) return new Image(c, height, width, mid == image.Pixels ? (byte[])mid.Clone() : mid);
        var vertical = Coefficients(ih, height);
        var result = new Image(c, height, width);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < height; y++)
            {
                var (start, weights) = vertical[y];
                int dst = (ch * height + y) * width;
                for (int x = 0; x < width; x++)
                {
                    int s = Half;
                    for (int k = 0; k < weights.Length; k++) s += weights[k] * mid[(ch * ih + start + k) * width + x];
                    result.Pixels[dst + x] = Clip8(s);
                }
            }
        return result;
    }

    private const int PrecisionBits = 32 - 8 - 2;
    private const int Half = 1 << (PrecisionBits - 1);

    private static byte Clip8(int s)
    {
        s >>= PrecisionBits;
        return s < 0 ? (byte)0 : s > 255 ? (byte)255 : (byte)s;
    }

    // PIL precompute_coeffs with the triangle filter (support 1).
    private static (int start, int[] weights)[] Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterScale, invScale = 1.0 / filterScale;
        var result = new (int, int[])[outSize];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize);
            var w = new double[xmax - xmin];
            double total = 0;
            for (int x = 0; x < w.Length; x++)
            {
                double t = Math.Abs((x + xmin - center + 0.5) * invScale);
                w[x] = t < 1 ? 1 - t : 0;
                total += w[x];
            }
            var fixedPoint = new int[w.Length];
            for (int x = 0; x < w.Length; x++)
            {
                double k = total != 0 ? w[x] / total : w[x];
                fixedPoint[x] = (int)(k < 0 ? -0.5 + k * (1 << PrecisionBits) : 0.5 + k * (1 << PrecisionBits));
            }
            result[i] = (xmin, fixedPoint);
        }
        return result;
    }
}
