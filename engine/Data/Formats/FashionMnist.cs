using System.Buffers.Binary;
using System.IO.Compression;

namespace SpikeEngine.Data;

/// <summary>
/// Fashion-MNIST and MNIST in the IDX format (gzipped or not): train-images-idx3-ubyte[.gz],
/// train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz].
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package puts the files.</summary>
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
    public static readonly string[] DigitNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Loads the train (<paramref name="train"/> = true) or test split from a folder.</summary>
    public static InMemoryImageDataset Load(string folder, bool train, string datasetName = "FashionMNIST", IReadOnlyList<string>? classNames = null)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{datasetName} folder not found: {folder}. Install Debian's dataset-fashion-mnist package (files in {DebianFolder}), use --download, or pass --datadir with the four IDX files.");
        string prefix = train ? "train" : "t10k";
        var imagesPath = Find(folder, $"{prefix}-images-idx3-ubyte", datasetName);
        var labelsPath = Find(folder, $"{prefix}-labels-idx1-ubyte", datasetName);
        var (images, n, h, w) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (labels.Length != n) throw new InvalidDataException($"{labelsPath} has {labels.Length} labels but {imagesPath} has {n} images.");
        return new InMemoryImageDataset($"{datasetName}/{(train ? "train" : "test")}", 1, h, w, images, labels, classNames ?? ClassNames);
    }

    private static string Find(string folder, string stem, string datasetName)
    {
        foreach (var candidate in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx") + ".gz", stem.Replace("-idx", ".idx") })
        {
            var p = Path.Combine(folder, candidate);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"{datasetName}: {stem}.gz not found in {folder}.", Path.Combine(folder, stem + ".gz"));
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            using var ms = new MemoryStream();
            if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                using var gz = new GZipStream(fs, CompressionMode.Decompress);
                gz.CopyTo(ms);
            }
            else fs.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: cannot decompress ({e.Message}); the file is damaged or truncated.", e);
        }
    }

    internal static (byte[] pixels, int count, int height, int width) ReadImages(string path)
    {
        var b = ReadAll(path);
        if (b.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(b) != 0x00000803)
            throw new InvalidDataException($"{path}: not an IDX image file (magic 0x00000803 expected).");
        int n = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4));
        int h = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(8));
        int w = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(12));
        long expected = 16L + (long)n * h * w;
        if (n < 0 || h < 1 || w < 1 || b.Length != expected)
            throw new InvalidDataException($"{path}: header says {n} images of {h}x{w} ({expected} bytes) but the file has {b.Length} bytes; it is truncated or damaged.");
        return (b[16..], n, h, w);
    }

    internal static int[] ReadLabels(string path)
    {
        var b = ReadAll(path);
        if (b.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(b) != 0x00000801)
            throw new InvalidDataException($"{path}: not an IDX label file (magic 0x00000801 expected).");
        int n = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4));
        if (n < 0 || b.Length != 8 + n)
            throw new InvalidDataException($"{path}: header says {n} labels but the file has {b.Length - 8} label bytes; it is truncated or damaged.");
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = b[8 + i];
            if (labels[i] > 9) throw new InvalidDataException($"{path}: label {labels[i]} at index {i} is outside 0..9.");
        }
        return labels;
    }
}
