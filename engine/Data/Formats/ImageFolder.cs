namespace SpikeEngine.Data;

/// <summary>
/// torchvision's ImageFolder layout: root/&lt;class&gt;/**/&lt;image&gt;. Classes are the sub-folders sorted by
/// ordinal name; files are found recursively in sorted order and kept when their extension (any case)
/// is one of torchvision's IMG_EXTENSIONS. The folder is scanned eagerly (so an empty class fails at
/// once); images are decoded lazily (<see cref="ImageDecoder"/>: JPEG, PNG, BMP, GIF; files with the other listed extensions are
/// counted like torchvision but fail to decode with an error naming them) in the loader's threads and always returned as 3-channel RGB.
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

    /// <summary>Decodes an image file to 3-channel CHW bytes as torchvision's loader does (<see cref="ImageDecoder"/>); any failure names the file.</summary>
    public static Image Decode(string path) => ImageDecoder.Decode(path);
}
