using SpikeEngine.Tests.IO;

namespace SpikeEngine.Tests.Data;

/// <summary>
/// ImageNet evaluation preprocessing against the reference's (torchvision 0.14 + Pillow with libjpeg-turbo):
/// Resize(256) → CenterCrop(224) → ToTensor, decoder included, on images that
/// tools/fixtures/imagenet_preprocessing.py writes at test time (JPEG at several qualities and chroma
/// subsamplings, progressive, greyscale, PNG with and without alpha, odd, tall, wide and small sizes).
/// </summary>
public class ImageNetPreprocessingTests
{
    /// <summary>The requirement: within one grey level of torchvision's tensor at every pixel (before Normalize).</summary>
    private const double Tolerance = 1.0 / 255;

    [Test]
    public void EvaluationTensorsMatchTorchvisionAndPillow()
    {
        using var tmp = new TempDir();
        var (code, output) = FixtureScripts.RunTool("imagenet_preprocessing.py", 120, tmp.Path);
        Assert.That(code, Is.EqualTo(0), output);
        var index = JsonDocument.Parse(File.ReadAllText(tmp["index.json"])).RootElement;
        // The data set as the engine opens ImageNet (train/ and val/ with the same classes; train/ is a copy here).
        foreach (var file in Directory.EnumerateFiles(tmp["val"], "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(tmp["train"], Path.GetRelativePath(tmp["val"], file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        var bundle = Datasets.Load("ImageNet", tmp.Path);
        var dataset = (ImageFolder)bundle.Test;
        var transform = bundle.TestTransform!;
        var images = index.GetProperty("images").EnumerateArray().ToList();
        Assert.That(dataset.Count, Is.EqualTo(images.Count));
        var plane = new float[3 * 224 * 224];
        double worstTensor = 0, worstDecode = 0, worstStb = 0;
        TestContext.Out.WriteLine("Per image: decoded pixels vs Pillow's, max / mean |Δ| in grey levels (ours; StbImageSharp's for comparison);");
        TestContext.Out.WriteLine("tensor after Resize(256), CenterCrop(224), ToTensor vs torchvision's: max |Δ|·255 and values more than 0.5/255 off.");
        TestContext.Out.WriteLine($"{"image",-31} {"size",-8} | {"decode",-13} | {"stb decode",-13} | tensor");
        for (int i = 0; i < images.Count; i++)
        {
            var meta = images[i];
            var relative = meta.GetProperty("path").GetString()!;
            Assert.That(Path.GetRelativePath(dataset.Root, dataset.Files[i]), Is.EqualTo(relative), "same order as torchvision's ImageFolder");
            Assert.That(dataset.GetLabel(i), Is.EqualTo(meta.GetProperty("label").GetInt32()));

            var decoded = dataset.GetImage(i);
            var (pillow, decodedShape) = Npy.Read(tmp[$"decoded/{i}.npy"]);
            Assert.That(decodedShape, Is.EqualTo(new[] { decoded.Height, decoded.Width, 3 }), relative);
            var (decodeMax, decodeMean) = Compare(decoded, pillow);
            var (stbMax, stbMean) = Compare(ImageDecoder.DecodeWithStb(File.ReadAllBytes(dataset.Files[i]), relative), pillow);

            var (expected, tensorShape) = Npy.Read(tmp[$"tensor/{i}.npy"]);
            Assert.That(tensorShape, Is.EqualTo(new[] { 3, 224, 224 }));
            var result = transform.Apply(decoded, new Random(0));
            Assert.That((result.Channels, result.Height, result.Width), Is.EqualTo((3, 224, 224)), relative);
            Normalization.None(3).Apply(result, plane);
            double tensorMax = 0;
            int off = 0;
            for (int k = 0; k < plane.Length; k++)
            {
                double d = Math.Abs(plane[k] - expected[k]);
                tensorMax = Math.Max(tensorMax, d);
                if (d > 0.5 / 255) off++;
            }
            TestContext.Out.WriteLine($"{relative,-31} {decoded.Width + "x" + decoded.Height,-8} | {decodeMax,3:F0} / {decodeMean,7:F4} | {stbMax,3:F0} / {stbMean,7:F4} | {tensorMax * 255:F2}, {off} of {plane.Length}");
            worstTensor = Math.Max(worstTensor, tensorMax);
            worstDecode = Math.Max(worstDecode, decodeMax);
            worstStb = Math.Max(worstStb, stbMax);
        }
        TestContext.Out.WriteLine($"largest per-pixel difference: decoded image {worstDecode} levels (StbImageSharp: {worstStb}); tensor after ToTensor {worstTensor * 255:F3}/255");
        Assert.That(worstTensor, Is.LessThanOrEqualTo(Tolerance + 1e-6), $"largest per-pixel difference {worstTensor * 255:F3}/255");
    }

    [Test]
    public void TruncatedOrBrokenJpegIsRefusedNamingTheFile()
    {
        using var tmp = new TempDir();
        var photo = File.ReadAllBytes(Path.Combine(DataTestUtil.Fixtures, "images", "photo.jpg"));
        Assert.That(ImageDecoder.IsJpeg(photo), Is.True);
        var whole = ImageDecoder.Decode(Path.Combine(DataTestUtil.Fixtures, "images", "photo.jpg"));
        Assert.That(whole.Channels, Is.EqualTo(3));
        // Pillow refuses a truncated file too ("image file is truncated"), so torchvision's loader stops there.
        File.WriteAllBytes(tmp["cut.jpg"], photo[..(photo.Length / 2)]);
        Assert.That(() => ImageDecoder.Decode(tmp["cut.jpg"]), Throws.TypeOf<InvalidDataException>().With.Message.Contains("cut.jpg"));
        File.WriteAllBytes(tmp["header.jpg"], [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 1, 2, 3]);
        Assert.That(() => ImageDecoder.Decode(tmp["header.jpg"]), Throws.TypeOf<InvalidDataException>().With.Message.Contains("header.jpg"));
        File.WriteAllBytes(tmp["text.png"], "not an image"u8.ToArray());
        Assert.That(() => ImageDecoder.Decode(tmp["text.png"]), Throws.TypeOf<InvalidDataException>().With.Message.Contains("text.png"));
    }

    /// <summary>Max and mean |Δ| in grey levels between a CHW image and Pillow's HWC pixels.</summary>
    private static (double Max, double Mean) Compare(SpikeEngine.Data.Image image, float[] pillowHwc)
    {
        int hw = image.Height * image.Width;
        Assert.That(pillowHwc, Has.Length.EqualTo(3 * hw));
        double max = 0, sum = 0;
        for (int p = 0; p < hw; p++)
            for (int c = 0; c < 3; c++)
            {
                double d = Math.Abs(image.Pixels[c * hw + p] - pillowHwc[3 * p + c]);
                max = Math.Max(max, d);
                sum += d;
            }
        return (max, sum / (3.0 * hw));
    }
}
