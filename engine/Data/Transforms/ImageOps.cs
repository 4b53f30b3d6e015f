namespace SpikeEngine.Data;

/// <summary>
/// The image operations of AutoAugment, defined as Pillow 9 defines them (ImageOps / ImageEnhance /
/// Image.transform), which is what the reference's policy calls. Each returns a new image.
/// Lookup-table ops are exact; resampling ops follow Pillow's formulas (nearest / bicubic a = −1 with
/// edge clamping), and blends truncate like Pillow's ImagingBlend.
/// </summary>
public static class ImageOps
{
    private static readonly byte[] InvertLut = Lut(i => 255 - i);

    private static byte[] Lut(Func<int, int> f)
    {
        var lut = new byte[256];
        for (int i = 0; i < 256; i++) lut[i] = (byte)f(i);
        return lut;
    }

    public static Image Invert(Image image) => ApplyLut(image, _ => InvertLut);

    /// <summary>Keeps the top <paramref name="bits"/> bits of every value (1..8).</summary>
    public static Image Posterize(Image image, int bits)
    {
        if (bits < 0 || bits > 8) throw new ArgumentException($"Posterize bits must be 0..8 (got {bits}).");
        int mask = ~((1 << (8 - bits)) - 1);
        var lut = Lut(i => i & mask);
        return ApplyLut(image, _ => lut);
    }

    /// <summary>Values ≥ threshold become 255 − value.</summary>
    public static Image Solarize(Image image, double threshold)
    {
        var lut = Lut(i => i < threshold ? i : 255 - i);
        return ApplyLut(image, _ => lut);
    }

    /// <summary>Per channel, stretches [min, max] to [0, 255] (cutoff 0): lut(i) = int(i·255/(hi−lo) − lo·255/(hi−lo)).</summary>
    public static Image AutoContrast(Image image) => ApplyLut(image, hist =>
    {
        int lo = 0, hi = 255;
        while (lo < 256 && hist[lo] == 0) lo++;
        while (hi >= 0 && hist[hi] == 0) hi--;
        var lut = Identity();
        if (hi <= lo) return lut;
        double scale = 255.0 / (hi - lo), offset = -lo * scale;
        for (int i = 0; i < 256; i++) lut[i] = (byte)Math.Clamp((int)(i * scale + offset), 0, 255);
        return lut;
    });

    /// <summary>Pillow's per-channel histogram equalisation: step = (N − count of the last used value) // 255; lut(i) = (step//2 + Σ_{j&lt;i} h[j]) // step.</summary>
    public static Image Equalize(Image image) => ApplyLut(image, hist =>
    {
        var lut = Identity();
        int used = 0, last = 0;
        long total = 0;
        for (int i = 0; i < 256; i++)
            if (hist[i] != 0) { used++; last = hist[i]; total += hist[i]; }
        if (used <= 1) return lut;
        long step = (total - last) / 255;
        if (step == 0) return lut;
        long n = step / 2;
        for (int i = 0; i < 256; i++) { lut[i] = (byte)Math.Min(255, n / step); n += hist[i]; }
        return lut;
    });

    /// <summary>ImageEnhance.Color: blend with the grey version (L = (19595R + 38470G + 7471B + 2^15) >> 16).</summary>
    public static Image Color(Image image, double factor) =>
        image.Channels == 3 ? Blend(ToGrayRgb(image), image, factor) : image.Clone();

    /// <summary>ImageEnhance.Contrast: blend with a flat image of the rounded mean grey level.</summary>
    public static Image Contrast(Image image, double factor)
    {
        var grey = image.Channels == 3 ? ToGrayRgb(image) : image;
        int plane = image.Height * image.Width;
        long sum = 0;
        for (int i = 0; i < plane; i++) sum += grey.Pixels[i];
        int mean = (int)((double)sum / plane + 0.5);
        var flat = new Image(image.Channels, image.Height, image.Width);
        Array.Fill(flat.Pixels, (byte)mean);
        return Blend(flat, image, factor);
    }

    /// <summary>ImageEnhance.Brightness: blend with black.</summary>
    public static Image Brightness(Image image, double factor) =>
        Blend(new Image(image.Channels, image.Height, image.Width), image, factor);

    /// <summary>ImageEnhance.Sharpness: blend with ImageFilter.SMOOTH (3×3 kernel 1,1,1/1,5,1/1,1,1 ÷ 13; border pixels unchanged).</summary>
    public static Image Sharpness(Image image, double factor) => Blend(Smooth(image), image, factor);

    internal static Image Smooth(Image image)
    {
        var result = image.Clone();
        int h = image.Height, w = image.Width;
        if (h < 3 || w < 3) return result;
        var p = image.Pixels;
        for (int c = 0; c < image.Channels; c++)
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                {
                    int o = (c * h + y) * w + x;
                    float s = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            s += p[o + dy * w + dx] * ((dx == 0 && dy == 0 ? 5f : 1f) / 13f);
                    result.Pixels[o] = s <= 0 ? (byte)0 : s >= 255 ? (byte)255 : (byte)(s + 0.5f);
                }
        return result;
    }

    /// <summary>Pillow's Image.blend(a, b, alpha) = a + alpha·(b − a), clipped to 0..255 and truncated.</summary>
    public static Image Blend(Image a, Image b, double alpha)
    {
        var result = new Image(b.Channels, b.Height, b.Width);
        float al = (float)alpha;
        for (int i = 0; i < result.Pixels.Length; i++)
        {
            float t = a.Pixels[i] + al * (b.Pixels[i] - a.Pixels[i]);
            result.Pixels[i] = t <= 0 ? (byte)0 : t >= 255 ? (byte)255 : (byte)t;
        }
        return result;
    }

    /// <summary>Pillow's RGB→L→RGB (ITU-R 601-2 luma in 16-bit fixed point).</summary>
    public static Image ToGrayRgb(Image image)
    {
        int plane = image.Height * image.Width;
        var result = new Image(3, image.Height, image.Width);
        var p = image.Pixels;
        for (int i = 0; i < plane; i++)
        {
            byte l = (byte)((p[i] * 19595 + p[plane + i] * 38470 + p[2 * plane + i] * 7471 + 0x8000) >> 16);
            result.Pixels[i] = result.Pixels[plane + i] = result.Pixels[2 * plane + i] = l;
        }
        return result;
    }

    public enum Resample { Nearest, Bicubic }

    /// <summary>
    /// Pillow's Image.transform(size, AFFINE, (a,b,c,d,e,f)): output pixel (x, y) samples the input at
    /// (a·(x+½) + b·(y+½) + c, d·(x+½) + e·(y+½) + f); samples outside the image get <paramref name="fill"/>.
    /// </summary>
    public static Image Affine(Image image, double a, double b, double c, double d, double e, double f, Resample resample, byte fill)
    {
        int h = image.Height, w = image.Width, ch = image.Channels;
        var result = new Image(ch, h, w);
        var p = image.Pixels;
        Span<double> rows = stackalloc double[4];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double xin = a * (x + 0.5) + b * (y + 0.5) + c;
                double yin = d * (x + 0.5) + e * (y + 0.5) + f;
                if (resample == Resample.Nearest)
                {
                    int xi = xin < 0 ? -1 : (int)xin, yi = yin < 0 ? -1 : (int)yin;
                    bool inside = xi >= 0 && xi < w && yi >= 0 && yi < h;
                    for (int k = 0; k < ch; k++)
                        result.Pixels[(k * h + y) * w + x] = inside ? p[(k * h + yi) * w + xi] : fill;
                }
                else
                {
                    if (xin < 0 || xin >= w || yin < 0 || yin >= h)
                    {
                        for (int k = 0; k < ch; k++) result.Pixels[(k * h + y) * w + x] = fill;
                        continue;
                    }
                    double sx = xin - 0.5, sy = yin - 0.5;
                    int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                    double dx = sx - x0, dy = sy - y0;
                    for (int k = 0; k < ch; k++)
                    {
                        for (int j = 0; j < 4; j++)
                        {
                            int yy = Math.Clamp(y0 - 1 + j, 0, h - 1);
                            int row = (k * h + yy) * w;
                            rows[j] = Cubic(p[row + Math.Clamp(x0 - 1, 0, w - 1)], p[row + Math.Clamp(x0, 0, w - 1)],
                                p[row + Math.Clamp(x0 + 1, 0, w - 1)], p[row + Math.Clamp(x0 + 2, 0, w - 1)], dx);
                        }
                        double v = Cubic(rows[0], rows[1], rows[2], rows[3], dy);
                        result.Pixels[(k * h + y) * w + x] = v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
                    }
                }
            }
        return result;
    }

    // Pillow's BICUBIC macro (Geometry.c): cubic convolution with a = −1.
    private static double Cubic(double v1, double v2, double v3, double v4, double d)
    {
        double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
        return p1 + d * (p2 + d * (p3 + d * p4));
    }

    /// <summary>Pillow's Image.rotate(degrees) (counter-clockwise about the centre, same size, nearest), outside → fill.</summary>
    public static Image Rotate(Image image, double degrees, byte fill)
    {
        double angle = -degrees * Math.PI / 180.0;
        double a = Math.Round(Math.Cos(angle), 15), b = Math.Round(Math.Sin(angle), 15);
        double d = Math.Round(-Math.Sin(angle), 15), e = Math.Round(Math.Cos(angle), 15);
        double cx = image.Width / 2.0, cy = image.Height / 2.0;
        double c = a * -cx + b * -cy + cx, f = d * -cx + e * -cy + cy;
        return Affine(image, a, b, c, d, e, f, Resample.Nearest, fill);
    }

    private static byte[] Identity() => Lut(i => i);

    /// <summary>Applies a per-channel lookup table built from that channel's histogram.</summary>
    private static Image ApplyLut(Image image, Func<int[], byte[]> lutForHistogram)
    {
        int plane = image.Height * image.Width;
        var result = new Image(image.Channels, image.Height, image.Width);
        var hist = new int[256];
        for (int c = 0; c < image.Channels; c++)
        {
            var src = image.Pixels.AsSpan(c * plane, plane);
            Array.Clear(hist);
            foreach (var v in src) hist[v]++;
            var lut = lutForHistogram(hist);
            var dst = result.Pixels.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++) dst[i] = lut[src[i]];
        }
        return result;
    }
}
