using static SpikeEngine.Tests.Data.DataTestUtil;

namespace SpikeEngine.Tests.Data;

public class ImageFolderTests
{
    private static string Image(string name) => Path.Combine(Fixtures, "images", name);

    /// <summary>root/&lt;class&gt;/… with the fixture images copied under the given relative names.</summary>
    private static void Populate(string root, params (string source, string relative)[] files)
    {
        foreach (var (source, relative) in files)
        {
            var dest = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(Image(source), dest);
        }
    }

    [Test]
    public void ClassesSortOrdinallyAndFilesFollowTorchvisionOrder()
    {
        using var tmp = new TempDir();
        Populate(tmp.Path,
            ("rgb.png", "b_dog/2.png"), ("photo.jpg", "b_dog/10.JPEG"), ("grey.png", "b_dog/sub/0.png"),
            ("rgb.png", "Zebra/x.png"), ("rgb.png", "a_cat/only.png"));
        File.WriteAllText(Path.Combine(tmp.Path, "b_dog", "notes.txt"), "not an image");
        var ds = new ImageFolder(tmp.Path);
        // Ordinal: upper case before lower case, as Python's sorted().
        Assert.That(ds.ClassNames, Is.EqualTo(new[] { "Zebra", "a_cat", "b_dog" }));
        Assert.That(ds.Count, Is.EqualTo(5));
        Assert.That(Enumerable.Range(0, 5).Select(ds.GetLabel), Is.EqualTo(new[] { 0, 1, 2, 2, 2 }));
        Assert.That(ds.Files.Select(f => Path.GetRelativePath(tmp.Path, f).Replace('\\', '/')),
            Is.EqualTo(new[] { "Zebra/x.png", "a_cat/only.png", "b_dog/10.JPEG", "b_dog/2.png", "b_dog/sub/0.png" }));
    }

    [Test]
    public void PngDecodesExactlyAndGreyBecomesThreeChannels()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "images", "expected.json")));
        var rgb = ImageFolder.Decode(Image("rgb.png"));
        var e = doc.RootElement.GetProperty("rgb.png");
        Assert.That((rgb.Channels, rgb.Height, rgb.Width), Is.EqualTo((3, 4, 5)));
        Assert.That(rgb.Pixels, Is.EqualTo(e.GetProperty("chw").EnumerateArray().Select(x => (byte)x.GetInt32())));
        var grey = ImageFolder.Decode(Image("grey.png"));
        var g = doc.RootElement.GetProperty("grey.png").GetProperty("hw").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray();
        Assert.That((grey.Channels, grey.Height, grey.Width), Is.EqualTo((3, 3, 6)));
        Assert.That(grey.Pixels, Is.EqualTo(g.Concat(g).Concat(g)));
        // JPEG: decoders may differ by a few levels from Pillow's; compare loosely.
        var jpg = ImageFolder.Decode(Image("photo.jpg"));
        var je = doc.RootElement.GetProperty("photo.jpg").GetProperty("chw").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.That((jpg.Height, jpg.Width), Is.EqualTo((12, 16)));
        Assert.That(jpg.Pixels.Zip(je, (a, b) => Math.Abs(a - b)).Average(), Is.LessThan(4));
    }

    [Test]
    public void EmptyClassFolderIsRejectedNamingIt()
    {
        using var tmp = new TempDir();
        Populate(tmp.Path, ("rgb.png", "cat/a.png"));
        Directory.CreateDirectory(Path.Combine(tmp.Path, "dog"));
        File.WriteAllText(Path.Combine(tmp.Path, "dog", "readme.txt"), "no images");
        var ex = Assert.Throws<InvalidDataException>(() => new ImageFolder(tmp.Path));
        Assert.That(ex!.Message, Does.Contain(Path.Combine(tmp.Path, "dog")).And.Contain("no image"));
        var missing = Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(Path.Combine(tmp.Path, "absent")));
        Assert.That(missing!.Message, Does.Contain("absent"));
    }

    [Test]
    public void UnreadableImageFailsTheLoaderNamingTheFile()
    {
        using var tmp = new TempDir();
        Populate(tmp.Path, ("rgb.png", "cat/a.png"), ("photo.jpg", "dog/b.jpg"));
        var bad = Path.Combine(tmp.Path, "dog", "broken.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]);
        var ds = new ImageFolder(tmp.Path);
        var ex = Assert.Throws<InvalidDataException>(() => ds.GetImage(ds.Files.ToList().IndexOf(bad)));
        Assert.That(ex!.Message, Does.Contain(bad));
        var loader = new DataLoader(ds, 2, Normalization.ImageNet, transform: new Compose(new Resize(8), new CenterCrop(8)));
        var loadEx = Assert.Throws<InvalidDataException>(() => { foreach (var b in loader.Epoch()) b.Dispose(); });
        Assert.That(loadEx!.Message, Does.Contain(bad).And.StartsWith("Loading"));
        Assert.That(loadEx.InnerException, Is.InstanceOf<InvalidDataException>().With.Message.StartsWith(bad));
    }

    [Test]
    public void ImageNetLayoutGivesEvalAndTrainTransformsAt224()
    {
        using var tmp = new TempDir();
        Populate(tmp.Path, ("photo.jpg", "train/n01/a.jpg"), ("rgb.png", "train/n02/b.png"),
            ("photo.jpg", "val/n01/c.jpg"), ("grey.png", "val/n02/d.png"));
        var bundle = Datasets.Load("ImageNet", tmp.Path);
        Assert.That(bundle.Classes, Is.EqualTo(2));
        Assert.That(bundle.Normalization, Is.SameAs(Normalization.ImageNet));
        foreach (var loader in new[] { bundle.TrainLoader(2, seed: 1), bundle.TestLoader(2) })
            foreach (var batch in loader.Epoch())
                using (batch)
                    Assert.That(batch.Images.Shape, Is.EqualTo(new SpikeEngine.Tensors.Shape(2, 3, 224, 224)));
        var eval = bundle.TestTransform!.Apply(ImageFolder.Decode(Image("photo.jpg")), new Random(0));
        Assert.That((eval.Height, eval.Width), Is.EqualTo((224, 224)));
    }
}
