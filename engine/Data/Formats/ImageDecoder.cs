using SkiaSharp;
using StbImageSharp;

namespace SpikeEngine.Data;

/// <summary>
/// Image files to 3-channel RGB CHW bytes, giving the pixels torchvision's loader (Pillow's
/// <c>Image.open(path).convert('RGB')</c>) gives. JPEG goes through libjpeg-turbo (SkiaSharp), the
/// library Pillow uses: other JPEG decoders differ in their IDCT and chroma upsampling (StbImageSharp was
/// measured up to 3 grey levels off on 4:2:0 files, more on 4:2:2). PNG, BMP and GIF are lossless and
/// StbImageSharp decodes them exactly. Greyscale is replicated to three channels and alpha dropped, as
/// <c>convert('RGB')</c> does.
/// </summary>
public static class ImageDecoder
{
    private const string Formats = "JPEG (libjpeg-turbo via SkiaSharp); PNG, BMP, GIF, TGA and PSD (StbImageSharp); not PPM, PGM, TIFF or WebP";

    /// <summary>Decodes an image file; any failure names the file.</summary>
    public static Image Decode(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the image file ({e.Message}).", e);
        }
        return IsJpeg(bytes) ? DecodeJpeg(bytes, path) : DecodeWithStb(bytes, path);
    }

    /// <summary>The JPEG start-of-image marker followed by another marker.</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> bytes) => bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;

    private static Image DecodeJpeg(byte[] bytes, string path)
    {
        SKCodec? codec;
        SKCodecResult created;
        try
        {
            // The codec owns the stream it is given and disposes of it with itself.
            codec = SKCodec.Create(new SKMemoryStream(bytes), out created);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException($"{path}: JPEG decoding needs SkiaSharp's native library (libSkiaSharp, from SkiaSharp.NativeAssets.*), which did not load: {e.Message}", e);
        }
        if (codec is null)
            throw new InvalidDataException($"{path}: cannot decode the JPEG ({created}).");
        using (codec)
        {
            int width = codec.Info.Width, height = codec.Info.Height;
            if (width < 1 || height < 1) throw new InvalidDataException($"{path}: the JPEG has no pixels ({width}x{height}).");
            // No colour space on the target: the stored samples are returned as they are, without ICC conversion (as Pillow).
            var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var rgba = new byte[info.BytesSize];
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = rgba) result = codec.GetPixels(info, (IntPtr)p);
            }
            // IncompleteInput: libjpeg-turbo fills the missing rows (grey), as Pillow does with LOAD_TRUNCATED_IMAGES; we refuse instead.
            if (result != SKCodecResult.Success)
                throw new InvalidDataException($"{path}: cannot decode the JPEG ({result}).");
            var image = new Image(3, height, width);
            int plane = width * height;
            for (int i = 0; i < plane; i++)
            {
                image.Pixels[i] = rgba[4 * i];
                image.Pixels[plane + i] = rgba[4 * i + 1];
                image.Pixels[2 * plane + i] = rgba[4 * i + 2];
            }
            return image;
        }
    }

    /// <summary>StbImageSharp for any format it reads (JPEG included: tests measure it against libjpeg-turbo).</summary>
    internal static Image DecodeWithStb(byte[] bytes, string path)
    {
        ImageResult decoded;
        try { decoded = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e)
        {
            throw new InvalidDataException($"{path}: cannot decode the image ({e.Message}); decoded formats: {Formats}.", e);
        }
        if (decoded is null || decoded.Data is null || decoded.Width < 1 || decoded.Height < 1 || decoded.Data.Length < decoded.Width * decoded.Height * 3)
            throw new InvalidDataException($"{path}: cannot decode the image; decoded formats: {Formats}.");
        int plane = decoded.Width * decoded.Height;
        var image = new Image(3, decoded.Height, decoded.Width);
        var src = decoded.Data;
        for (int i = 0; i < plane; i++)
        {
            image.Pixels[i] = src[3 * i];
            image.Pixels[plane + i] = src[3 * i + 1];
            image.Pixels[2 * plane + i] = src[3 * i + 2];
        }
        return image;
    }
}
