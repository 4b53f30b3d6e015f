using static SpikeEngine.Tests.Data.DataTestUtil;
using Op = SpikeEngine.Data.CifarAutoAugment.Op;

namespace SpikeEngine.Tests.Data;

public class TransformTests
{
    private static byte[] Seq(int n, int start = 1) => Enumerable.Range(start, n).Select(i => (byte)i).ToArray();

    [Test]
    public void RandomCropPadsWithZerosAndCropsAtDrawnOffsets()
    {
        // 1×3×3 image 1..9, crop 3 with padding 1 → padded 5×5; draws: top 0, left 2.
        var img = Img(1, 3, 3, Seq(9));
        var rng = new ScriptedRandom(0, 2);
        var r = new RandomCrop(3, 1).Apply(img, rng);
        // Padded rows −1..1, columns 1..3: row −1 is zeros; column 3 is padding.
        Assert.That(r.Pixels, Is.EqualTo(new byte[] { 0, 0, 0, 2, 3, 0, 5, 6, 0 }));
        Assert.That(rng.Remaining, Is.Zero);
        // Centre offsets (padding, padding) give the image back.
        Assert.That(new RandomCrop(3, 1).Apply(img, new ScriptedRandom(1, 1)).Pixels, Is.EqualTo(img.Pixels));
    }

    [Test]
    public void RandomCropCifarOffsetsCoverAllNinePositionsUniformly()
    {
        var img = new Image(3, 32, 32);
        Array.Fill(img.Pixels, (byte)255);
        var rng = new Random(7);
        var counts = new int[9, 9];
        for (int i = 0; i < 8100; i++)
        {
            var r = new RandomCrop(32, 4).Apply(img, rng);
            // The zero border reveals the offset: count leading zero rows/columns of channel 0.
            int top = 0; while (top < 32 && r[0, top, 16] == 0) top++;
            int bottom = 0; while (bottom < 32 && r[0, 31 - bottom, 16] == 0) bottom++;
            int left = 0; while (left < 32 && r[0, 16, left] == 0) left++;
            int right = 0; while (right < 32 && r[0, 16, 31 - right] == 0) right++;
            int dy = top > 0 ? -top : bottom, dx = left > 0 ? -left : right;
            counts[dy + 4, dx + 4]++;
        }
        foreach (var c in counts) Assert.That(c, Is.InRange(60, 150));
    }

    [Test]
    public void HorizontalFlipMirrorsEachRowWhenTheDrawIsBelowP()
    {
        var img = Img(2, 2, 3, Seq(12));
        var flipped = new RandomHorizontalFlip().Apply(img, new ScriptedRandom(0.49));
        Assert.That(flipped.Pixels, Is.EqualTo(new byte[] { 3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10 }));
        Assert.That(new RandomHorizontalFlip().Apply(img, new ScriptedRandom(0.5)).Pixels, Is.EqualTo(img.Pixels));
    }

    [Test]
    public void CutoutZeroesTheClippedHoleOnNormalisedFloats()
    {
        var sample = Enumerable.Range(0, 2 * 6 * 6).Select(i => 1f + i).ToArray();
        // length 4 → half 2; centre (y=0, x=5) → rows [0,2), columns [3,6) (clipped at the borders).
        new Cutout(4).Apply(sample, 2, 6, 6, new ScriptedRandom(0, 5));
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 6; x++)
                {
                    float expected = y < 2 && x >= 3 ? 0f : 1f + (c * 36 + y * 6 + x);
                    Assert.That(sample[(c * 6 + y) * 6 + x], Is.EqualTo(expected), $"c={c} y={y} x={x}");
                }
        // An interior centre gives the full L×L hole.
        var full = new float[1 * 32 * 32];
        Array.Fill(full, -1.5f);
        new Cutout(16).Apply(full, 1, 32, 32, new ScriptedRandom(20, 10));
        Assert.That(full.Count(v => v == 0), Is.EqualTo(256));
        Assert.That(full[12 * 32 + 2], Is.Zero);
        Assert.That(full[27 * 32 + 17], Is.Zero);
        Assert.That(full[28 * 32 + 17], Is.EqualTo(-1.5f));
    }

    [Test]
    public void SolarizeInvertsValuesAtOrAboveTheThreshold()
    {
        var img = Img(1, 1, 6, 0, 99, 100, 101, 200, 255);
        Assert.That(ImageOps.Solarize(img, 100).Pixels, Is.EqualTo(new byte[] { 0, 99, 155, 154, 55, 0 }));
        Assert.That(ImageOps.Solarize(img, 256).Pixels, Is.EqualTo(img.Pixels));
        Assert.That(ImageOps.Solarize(img, 0).Pixels, Is.EqualTo(ImageOps.Invert(img).Pixels));
        Assert.That(ImageOps.Invert(img).Pixels, Is.EqualTo(new byte[] { 255, 156, 155, 154, 55, 0 }));
    }

    [Test]
    public void PosterizeKeepsTheTopBits()
    {
        var img = Img(1, 1, 5, 255, 0b1011_0111, 15, 16, 128);
        Assert.That(ImageOps.Posterize(img, 4).Pixels, Is.EqualTo(new byte[] { 0xF0, 0b1011_0000, 0, 16, 128 }));
        Assert.That(ImageOps.Posterize(img, 1).Pixels, Is.EqualTo(new byte[] { 128, 128, 0, 0, 128 }));
        Assert.That(ImageOps.Posterize(img, 8).Pixels, Is.EqualTo(img.Pixels));
        Assert.That(Enumerable.Range(0, 10).Select(m => CifarAutoAugment.Magnitude(Op.Posterize, m)),
            Is.EqualTo(new double[] { 8, 8, 7, 7, 6, 6, 5, 5, 4, 4 }));
    }

    [Test]
    public void EqualizeFollowsTheCumulativeHistogram()
    {
        // Values 10×2, 20×1, 30×1, 40×4 (8 pixels): step = (8 − 4) // 255 = 0 → unchanged.
        var small = Img(1, 2, 4, 10, 10, 20, 30, 40, 40, 40, 40);
        Assert.That(ImageOps.Equalize(small).Pixels, Is.EqualTo(small.Pixels));
        // 1020 pixels: 255×v=0, 255×v=1, 510×v=2 → step = (1020 − 510) // 255 = 2, n0 = 1:
        // lut(0) = 1//2 = 0, lut(1) = (1+255)//2 = 128, lut(2) = (1+510)//2 = 255.
        var px = new byte[1020];
        for (int i = 0; i < 255; i++) px[255 + i] = 1;
        for (int i = 510; i < 1020; i++) px[i] = 2;
        var eq = ImageOps.Equalize(new Image(1, 30, 34, px));
        Assert.That(eq.Pixels[0], Is.EqualTo(0));
        Assert.That(eq.Pixels[300], Is.EqualTo(128));
        Assert.That(eq.Pixels[1000], Is.EqualTo(255));
        // One distinct value: identity.
        var flat = new Image(1, 2, 2, [7, 7, 7, 7]);
        Assert.That(ImageOps.Equalize(flat).Pixels, Is.EqualTo(flat.Pixels));
    }

    [Test]
    public void AutoContrastStretchesEachChannelToFullRange()
    {
        // Channel 0 spans 50..150 → scale 2.55: 50→0, 100→127 (int(127.5)), 150→255. Channel 1 is flat → unchanged.
        var img = Img(2, 1, 3, 50, 100, 150, 9, 9, 9);
        Assert.That(ImageOps.AutoContrast(img).Pixels, Is.EqualTo(new byte[] { 0, 127, 255, 9, 9, 9 }));
    }

    [Test]
    public void BlendEnhancementsMatchHandComputedValues()
    {
        // Brightness 1.5 of 100 → 150; of 200 → 300 clipped to 255. Brightness 0.5 of 101 → 50.5 truncated.
        var img = Img(1, 1, 3, 100, 200, 101);
        Assert.That(ImageOps.Brightness(img, 1.5).Pixels, Is.EqualTo(new byte[] { 150, 255, 151 }));
        Assert.That(ImageOps.Brightness(img, 0.5).Pixels, Is.EqualTo(new byte[] { 50, 100, 50 }));
        // Contrast 0 gives the rounded mean grey level (100+200+101)/3 = 133.67 → 134.
        Assert.That(ImageOps.Contrast(img, 0).Pixels, Is.EqualTo(new byte[] { 134, 134, 134 }));
        // Colour 0 of an RGB pixel is its luma: (255·19595 + 0 + 0 + 32768) >> 16 = 76.
        var red = Img(3, 1, 1, 255, 0, 0);
        Assert.That(ImageOps.Color(red, 0).Pixels, Is.EqualTo(new byte[] { 76, 76, 76 }));
    }

    [Test]
    public void TranslateAndRotateMoveWholePixelsWithGreyFill()
    {
        var img = Img(1, 2, 4, Seq(8));
        // translate x by +1: output(x) = input(x+1); rightmost column becomes fill.
        var t = new CifarAutoAugment().ApplyOp(img, Op.TranslateX, 0, 1);
        Assert.That(t.Pixels, Is.EqualTo(img.Pixels));
        var shifted = ImageOps.Affine(img, 1, 0, 1, 0, 1, 0, ImageOps.Resample.Nearest, 128);
        Assert.That(shifted.Pixels, Is.EqualTo(new byte[] { 2, 3, 4, 128, 6, 7, 8, 128 }));
        // Rotating a square by 90° (counter-clockwise): top row becomes the left column, reversed.
        var sq = Img(1, 2, 2, 1, 2, 3, 4);
        Assert.That(ImageOps.Rotate(sq, 90, 128).Pixels, Is.EqualTo(new byte[] { 2, 4, 1, 3 }));
    }

    private sealed record PilCase(string Op, int M, int Sign, byte[] Chw);

    private static (Image input, List<PilCase> cases, JsonElement root, JsonDocument doc) LoadPil()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "pil_ops.json")));
        var root = doc.RootElement;
        byte[] Bytes(JsonElement e) => e.EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray();
        var input = new Image(3, root.GetProperty("height").GetInt32(), root.GetProperty("width").GetInt32(), Bytes(root.GetProperty("input_chw")));
        var cases = root.GetProperty("ops").EnumerateArray().Select(c => new PilCase(c.GetProperty("op").GetString()!,
            c.GetProperty("m").GetInt32(), c.GetProperty("sign").GetInt32(), Bytes(c.GetProperty("chw")))).ToList();
        return (input, cases, root, doc);
    }

    [Test]
    public void AutoAugmentOperationsMatchPillow()
    {
        var (input, cases, _, doc) = LoadPil();
        using var _d = doc;
        Assert.That(cases, Has.Count.GreaterThan(60));
        var aa = new CifarAutoAugment();
        var report = new List<string>();
        foreach (var c in cases)
        {
            var op = Enum.Parse<Op>(c.Op);
            var ours = aa.ApplyOp(input, op, c.M, c.Sign).Pixels;
            int maxDiff = ours.Zip(c.Chw, (a, b) => Math.Abs(a - b)).Max();
            int mismatches = ours.Zip(c.Chw, (a, b) => a != b ? 1 : 0).Sum();
            // Every operation reproduces Pillow 9.4 bit for bit (blends, filters and resampling included).
            if (maxDiff > 0) report.Add($"{c.Op} m={c.M} sign={c.Sign}: max diff {maxDiff}, {mismatches} of {ours.Length} differ");
        }
        Assert.That(report, Is.Empty, string.Join("\n", report));
    }

    // Pillow resamples in 22-bit fixed point; we do the same, so the result must be identical.
    private const int MaxResizeDiff = 0;

    [Test]
    public void BilinearResizeMatchesPillow()
    {
        var (_, _, root, doc) = LoadPil();
        using var _d = doc;
        var src = new Image(3, root.GetProperty("resize_height").GetInt32(), root.GetProperty("resize_width").GetInt32(),
            root.GetProperty("resize_input_chw").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
        foreach (var r in root.GetProperty("resizes").EnumerateArray())
        {
            int h = r.GetProperty("h").GetInt32(), w = r.GetProperty("w").GetInt32();
            var expected = r.GetProperty("chw").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray();
            var ours = ImageGeometry.ResizeBilinear(src, h, w).Pixels;
            int maxDiff = ours.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
            Assert.That(maxDiff, Is.LessThanOrEqualTo(MaxResizeDiff), $"resize to {h}x{w}");
        }
    }

    [Test]
    public void ResizeShorterSideAndCenterCropFollowTorchvision()
    {
        Assert.That(new Resize(256).OutputSize(375, 500), Is.EqualTo((256, 341)));
        Assert.That(new Resize(256).OutputSize(500, 333), Is.EqualTo((384, 256)));
        // CenterCrop offsets: round((5−2)/2) = round(1.5) = 2; round((4−2)/2) = 1.
        var img = Img(1, 5, 4, Seq(20));
        Assert.That(new CenterCrop(2).Apply(img, new Random(0)).Pixels, Is.EqualTo(new byte[] { 10, 11, 14, 15 }));
        // A crop larger than the image pads with zeros around it.
        var small = Img(1, 1, 1, 9);
        Assert.That(new CenterCrop(3).Apply(small, new Random(0)).Pixels, Is.EqualTo(new byte[] { 0, 0, 0, 0, 9, 0, 0, 0, 0 }));
    }

    [Test]
    public void RandomResizedCropUsesTorchvisionSamplingAndFallback()
    {
        var rrc = new RandomResizedCrop(4);
        // Draw: scale u=0.5 → area fraction 0.08+0.5·0.92 = 0.54 of 100×100 = 5400; ratio u=0.5 → aspect 1
        // → w = h = round(73.48) = 73; then top 10, left 20.
        var box = rrc.SampleBox(100, 100, new ScriptedRandom(0.5, 0.5, 10, 20));
        Assert.That(box, Is.EqualTo((10, 20, 73, 73)));
        // Ten impossible tries (area fraction 1 with aspect 4/3 on a 10×100 image) → centre crop clamped to ratio 4/3.
        var draws = Enumerable.Range(0, 10).SelectMany(_ => new[] { 1.0, 1.0 }).ToArray();
        Assert.That(rrc.SampleBox(10, 100, new ScriptedRandom(draws)), Is.EqualTo((0, 43, 10, 13)));
        var img = new Image(3, 40, 60);
        var r = rrc.Apply(img, new Random(3));
        Assert.That((r.Channels, r.Height, r.Width), Is.EqualTo((3, 4, 4)));
    }

    [Test]
    public void AutoAugmentPolicyIsTheTwentyFiveCifarSubPolicies()
    {
        Assert.That(CifarAutoAugment.Policies, Has.Length.EqualTo(25));
        Assert.That(CifarAutoAugment.Policies[0], Is.EqualTo(new CifarAutoAugment.SubPolicy(0.1, Op.Invert, 7, 0.2, Op.Contrast, 6)));
        Assert.That(CifarAutoAugment.Policies[24], Is.EqualTo(new CifarAutoAugment.SubPolicy(0.7, Op.TranslateY, 9, 0.9, Op.AutoContrast, 1)));
        Assert.That(CifarAutoAugment.Magnitude(Op.Solarize, 9), Is.EqualTo(0));
        Assert.That(CifarAutoAugment.Magnitude(Op.Solarize, 0), Is.EqualTo(256));
        Assert.That(CifarAutoAugment.Magnitude(Op.Rotate, 9), Is.EqualTo(30).Within(1e-12));
        Assert.That(CifarAutoAugment.Magnitude(Op.TranslateX, 9), Is.EqualTo(150.0 / 331).Within(1e-12));
        // Scripted: sub-policy 14 (solarize m=2 p=0.5, invert p=0): draw 0.3 applies solarize (threshold 199.1),
        // 0.0 does not apply invert (p = 0).
        var img = Img(3, 1, 2, 10, 250, 20, 200, 30, 199);
        var r = new CifarAutoAugment().Apply(img, new ScriptedRandom(14, 0.3, 0.0));
        Assert.That(r.Pixels, Is.EqualTo(new byte[] { 10, 5, 20, 55, 30, 199 }));
    }

    [Test]
    public void FullCifarAugmentationIsDeterministicForAGivenSeed()
    {
        var img = new Image(3, 32, 32, Enumerable.Range(0, 3072).Select(i => (byte)(i * 37 % 251)).ToArray());
        var aug = Datasets.CifarFullAugmentation();
        for (int seed = 0; seed < 20; seed++)
            Assert.That(aug.Apply(img, new Random(seed)).Pixels, Is.EqualTo(aug.Apply(img, new Random(seed)).Pixels));
        var distinct = Enumerable.Range(0, 20).Select(s => Convert.ToBase64String(aug.Apply(img, new Random(s)).Pixels)).Distinct().Count();
        Assert.That(distinct, Is.GreaterThan(15));
    }
}
