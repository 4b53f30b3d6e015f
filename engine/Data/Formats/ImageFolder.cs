using StbImageSharp;

namespace SpikeEngine.Data;

/// <summary>
/// torchvision's ImageFolder layout: root/&lt;class&gt;/**/&lt;image&gt;. Classes are the sub-folders sorted by
/// ordinal name; files are found recursively in sorted order and kept when their extension (any case)
/// is one of torchvision's IMG_EXTENSIONS. The folder is scanned eagerly (so an empty class fails at
/// once); images are decoded lazily (StbImageSharp: JPEG, PNG, BMP, GIF; files with the other listed extensions are counted like torchvision but fail to decode with an error naming them) in the loader's threads and
/// always returned as 3-channel RGB.
/// </summary>
public sealed class ImageFolder : IImageDataset
{
    public static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

    private readonly string[] _files;
    private readonly int[] _labels;

    public ImageFolder(string root, string? name = null)
    {
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Image folder not found: {root}. Expected root/<class>/<image> (e.g. ImageNet train/ and val/ with one sub-folder per class).");
        Root = root;
        Name = name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(root));
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().ToArray();
        Array.Sort(classes, StringComparer.Ordinal);
        if (classes.Length == 0)
            throw new InvalidDataException($"{root}: no class sub-folders; expected root/<class>/<image>.");
        var files = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < classes.Length; c++)
        {
            var dir = Path.Combine(root, classes[c]);
            var found = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Where(IsImageFile).ToArray();
            if (found.Length == 0)
                throw new InvalidDataException($"{dir}: class folder '{classes[c]}' holds no image file (extensions {string.Join(" ", ImageExtensions)}).");
            // As torchvision: sorted(os.walk(...)) orders by folder, then sorted file names within it.
            files.AddRange(found.OrderBy(f => Path.GetDirectoryName(f), StringComparer.Ordinal)
                .ThenBy(Path.GetFileName, StringComparer.Ordinal));
            labels.AddRange(Enumerable.Repeat(c, found.Length));
        }
        ClassNames = classes;
        _files = files.ToArray();
        _labels = labels.ToArray();
    }

    public string Root { get; }
    public string Name { get; }
    public int Count => _files.Length;
    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<string> Files => _files;

    public static bool IsImageFile(string path) =>
        ImageExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    public int GetLabel(int index) => _labels[index];

    public Image GetImage(int index) => Decode(_files[index]);

    /// <summary>Decodes an image file to 3-channel CHW bytes; any failure names the file.</summary>
    public static Image Decode(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the image file ({e.Message}).", e);
        }
        ImageResult decoded;
        try { decoded = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e)
        {
            throw new InvalidDataException($"{path}: cannot decode the image ({e.Message}); StbImageSharp decodes JPEG, PNG, BMP, GIF, TGA and PSD (not PPM, PGM, TIFF or WebP).", e);
        }
        if (decoded is null || decoded.Data is null || decoded.Width < 1 || decoded.Height < 1 || decoded.Data.Length < decoded.Width * decoded.Height * 3)
            throw new InvalidDataException($"{path}: cannot decode the image; StbImageSharp decodes JPEG, PNG, BMP, GIF, TGA and PSD (not PPM, PGM, TIFF or WebP).");
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
