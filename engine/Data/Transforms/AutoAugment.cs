namespace SpikeEngine.Data;

/// <summary>
/// The AutoAugment CIFAR-10 policy (Cubuk et al. 2019, 25 sub-policies) as implemented by the
/// reference's policy module (the widely copied "CIFAR10Policy" with fill colour 128): pick one
/// sub-policy uniformly; apply each of its two operations with its probability; magnitude index
/// m ∈ 0..9 maps through the ranges below; signed operations pick the sign with a fair coin.
/// Ranges (value at index m of a 10-point linspace): shearX/Y 0..0.3, translateX/Y 0..150/331 of the
/// image size, rotate 0..30° (not signed in the reference), color/contrast/sharpness/brightness
/// factor 1 ± (0..0.9), posterize bits round(8..4), solarize threshold 256..0; autocontrast, equalize
/// and invert take no magnitude. Shear uses bicubic, translate and rotate nearest, all fill 128.
/// Draw order per image: sub-policy index, then for each operation a uniform for its probability and,
/// when applied and signed, a sign.
/// </summary>
public sealed class CifarAutoAugment(byte fill = 128) : IImageTransform
{
    public enum Op { ShearX, ShearY, TranslateX, TranslateY, Rotate, Color, Posterize, Solarize, Contrast, Sharpness, Brightness, AutoContrast, Equalize, Invert }

    public readonly record struct SubPolicy(double P1, Op Op1, int M1, double P2, Op Op2, int M2);

    /// <summary>The 25 CIFAR-10 sub-policies, in the published order.</summary>
    public static readonly SubPolicy[] Policies =
    [
        new(0.1, Op.Invert, 7, 0.2, Op.Contrast, 6),
        new(0.7, Op.Rotate, 2, 0.3, Op.TranslateX, 9),
        new(0.8, Op.Sharpness, 1, 0.9, Op.Sharpness, 3),
        new(0.5, Op.ShearY, 8, 0.7, Op.TranslateY, 9),
        new(0.5, Op.AutoContrast, 8, 0.9, Op.Equalize, 2),

        new(0.2, Op.ShearY, 7, 0.3, Op.Posterize, 7),
        new(0.4, Op.Color, 3, 0.6, Op.Brightness, 7),
        new(0.3, Op.Sharpness, 9, 0.7, Op.Brightness, 9),
        new(0.6, Op.Equalize, 5, 0.5, Op.Equalize, 1),
        new(0.6, Op.Contrast, 7, 0.6, Op.Sharpness, 5),

        new(0.7, Op.Color, 7, 0.5, Op.TranslateX, 8),
        new(0.3, Op.Equalize, 7, 0.4, Op.AutoContrast, 8),
        new(0.4, Op.TranslateY, 3, 0.2, Op.Sharpness, 6),
        new(0.9, Op.Brightness, 6, 0.2, Op.Color, 8),
        new(0.5, Op.Solarize, 2, 0.0, Op.Invert, 3),

        new(0.2, Op.Equalize, 0, 0.6, Op.AutoContrast, 0),
        new(0.2, Op.Equalize, 8, 0.8, Op.Equalize, 4),
        new(0.9, Op.Color, 9, 0.6, Op.Equalize, 6),
        new(0.8, Op.AutoContrast, 4, 0.2, Op.Solarize, 8),
        new(0.1, Op.Brightness, 3, 0.7, Op.Color, 0),

        new(0.4, Op.Solarize, 5, 0.9, Op.AutoContrast, 3),
        new(0.9, Op.TranslateY, 9, 0.7, Op.TranslateY, 9),
        new(0.9, Op.AutoContrast, 2, 0.8, Op.Solarize, 3),
        new(0.8, Op.Equalize, 8, 0.1, Op.Invert, 3),
        new(0.7, Op.TranslateY, 9, 0.9, Op.AutoContrast, 1),
    ];

    public byte Fill { get; } = fill;

    /// <summary>Value of <c>np.linspace(from, to, 10)[m]</c>.</summary>
    private static double Linspace(double from, double to, int m) => from + (to - from) * m / 9.0;

    /// <summary>The operation's parameter at magnitude index m (before any sign).</summary>
    public static double Magnitude(Op op, int m)
    {
        if (m < 0 || m > 9) throw new ArgumentOutOfRangeException(nameof(m), $"AutoAugment magnitude index must be 0..9 (got {m}).");
        return op switch
        {
            Op.ShearX or Op.ShearY => Linspace(0, 0.3, m),
            Op.TranslateX or Op.TranslateY => Linspace(0, 150.0 / 331, m),
            Op.Rotate => Linspace(0, 30, m),
            Op.Color or Op.Contrast or Op.Sharpness or Op.Brightness => Linspace(0, 0.9, m),
            Op.Posterize => Math.Round(Linspace(8, 4, m), MidpointRounding.ToEven),
            Op.Solarize => Linspace(256, 0, m),
            _ => 0,
        };
    }

    private static bool Signed(Op op) => op is Op.ShearX or Op.ShearY or Op.TranslateX or Op.TranslateY
        or Op.Color or Op.Contrast or Op.Sharpness or Op.Brightness;

    /// <summary>Applies one operation with magnitude index m and sign ±1 (ignored by unsigned ops).</summary>
    public Image ApplyOp(Image img, Op op, int m, int sign)
    {
        double v = Magnitude(op, m) * (Signed(op) ? sign : 1);
        return op switch
        {
            Op.ShearX => ImageOps.Affine(img, 1, v, 0, 0, 1, 0, ImageOps.Resample.Bicubic, Fill),
            Op.ShearY => ImageOps.Affine(img, 1, 0, 0, v, 1, 0, ImageOps.Resample.Bicubic, Fill),
            Op.TranslateX => ImageOps.Affine(img, 1, 0, v * img.Width, 0, 1, 0, ImageOps.Resample.Nearest, Fill),
            Op.TranslateY => ImageOps.Affine(img, 1, 0, 0, 0, 1, v * img.Height, ImageOps.Resample.Nearest, Fill),
            Op.Rotate => ImageOps.Rotate(img, v, Fill),
            Op.Color => ImageOps.Color(img, 1 + v),
            Op.Posterize => ImageOps.Posterize(img, (int)v),
            Op.Solarize => ImageOps.Solarize(img, v),
            Op.Contrast => ImageOps.Contrast(img, 1 + v),
            Op.Sharpness => ImageOps.Sharpness(img, 1 + v),
            Op.Brightness => ImageOps.Brightness(img, 1 + v),
            Op.AutoContrast => ImageOps.AutoContrast(img),
            Op.Equalize => ImageOps.Equalize(img),
            Op.Invert => ImageOps.Invert(img),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    public Image Apply(Image image, Random rng)
    {
        var policy = Policies[rng.Next(Policies.Length)];
        image = MaybeApply(image, policy.P1, policy.Op1, policy.M1, rng);
        return MaybeApply(image, policy.P2, policy.Op2, policy.M2, rng);
    }

    private Image MaybeApply(Image image, double p, Op op, int m, Random rng)
    {
        if (rng.NextDouble() >= p) return image;
        int sign = Signed(op) ? (rng.Next(2) == 0 ? -1 : 1) : 1;
        return ApplyOp(image, op, m, sign);
    }
}
