namespace SpikeEngine.Data;

/// <summary>
/// CIFAR-10 and CIFAR-100 readers for both layouts in use:
/// binary (cifar-10-batches-bin/data_batch_1..5.bin + test_batch.bin, record = label byte + 3072 pixels;
/// cifar-100-binary/train.bin + test.bin, record = coarse byte + fine byte + 3072 pixels) and
/// python (cifar-10-batches-py/data_batch_1..5 + test_batch + batches.meta; cifar-100-python/train + test + meta:
/// pickled dicts with b'data' (N×3072 uint8) and b'labels' / b'fine_labels' / b'coarse_labels').
/// Pixels are CHW (1024 R, 1024 G, 1024 B, row-major 32×32) in both layouts.
/// Every file is checked completely before a dataset is built, so a bad file never yields a half-loaded set.
/// </summary>
public static class Cifar
{
    public const int Side = 32;
    public const int PixelsPerImage = 3 * Side * Side;

    public static readonly string[] Cifar10ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    public static readonly string[] Cifar10BinaryTrainFiles =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
    public static readonly string[] Cifar10PythonTrainFiles =
        ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"];

    // ---- binary layout ----

    /// <summary>CIFAR-10 binary: <paramref name="folder"/> holds data_batch_1..5.bin, test_batch.bin, batches.meta.txt.</summary>
    public static InMemoryImageDataset LoadCifar10Binary(string folder, bool train)
    {
        RequireFolder(folder, "CIFAR10");
        var files = train ? Cifar10BinaryTrainFiles : ["test_batch.bin"];
        var names = ReadNameLines(Path.Combine(folder, "batches.meta.txt"), 10) ?? Cifar10ClassNames;
        var (pixels, labels) = ReadBinaryRecords(folder, files, labelBytes: 1, labelIndex: 0, classes: 10);
        return new InMemoryImageDataset($"CIFAR10/{Split(train)}", 3, Side, Side, pixels, labels, names);
    }

    /// <summary>CIFAR-100 binary: <paramref name="folder"/> holds train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt.</summary>
    public static InMemoryImageDataset LoadCifar100Binary(string folder, bool train, bool coarse = false)
    {
        RequireFolder(folder, "CIFAR100");
        int classes = coarse ? 20 : 100;
        var namesFile = Path.Combine(folder, coarse ? "coarse_label_names.txt" : "fine_label_names.txt");
        var names = ReadNameLines(namesFile, classes)
            ?? throw new FileNotFoundException($"CIFAR100: {namesFile} not found; the class names come from it.", namesFile);
        var (pixels, labels) = ReadBinaryRecords(folder, [train ? "train.bin" : "test.bin"], labelBytes: 2, labelIndex: coarse ? 0 : 1, classes);
        return new InMemoryImageDataset($"CIFAR100/{Split(train)}", 3, Side, Side, pixels, labels, names);
    }

    private static (byte[] pixels, int[] labels) ReadBinaryRecords(string folder, string[] files, int labelBytes, int labelIndex, int classes)
    {
        int record = labelBytes + PixelsPerImage;
        var paths = files.Select(f => Path.Combine(folder, f)).ToArray();
        long total = 0;
        foreach (var p in paths)
        {
            if (!File.Exists(p)) throw new FileNotFoundException($"CIFAR file not found: {p}.", p);
            long len = new FileInfo(p).Length;
            if (len == 0 || len % record != 0)
                throw new InvalidDataException($"{p}: {len} bytes is not a whole number of {record}-byte records ({labelBytes} label byte(s) + {PixelsPerImage} pixels); the file is truncated or not a CIFAR{(labelBytes == 1 ? "-10" : "-100")} binary file.");
            total += len / record;
        }
        var pixels = new byte[checked(total * PixelsPerImage)];
        var labels = new int[total];
        int n = 0;
        var buffer = new byte[record];
        foreach (var p in paths)
        {
            using var fs = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            long count = fs.Length / record;
            for (long r = 0; r < count; r++, n++)
            {
                fs.ReadExactly(buffer);
                int label = buffer[labelIndex];
                if (label >= classes)
                    throw new InvalidDataException($"{p}: record {r} has label {label}, outside 0..{classes - 1}; the file is damaged or of the other CIFAR variant.");
                labels[n] = label;
                buffer.AsSpan(labelBytes).CopyTo(pixels.AsSpan(n * PixelsPerImage, PixelsPerImage));
            }
        }
        return (pixels, labels);
    }

    // ---- python layout ----

    /// <summary>CIFAR-10 python: <paramref name="folder"/> holds data_batch_1..5, test_batch, batches.meta.</summary>
    public static InMemoryImageDataset LoadCifar10Python(string folder, bool train)
    {
        RequireFolder(folder, "CIFAR10");
        var files = train ? Cifar10PythonTrainFiles : ["test_batch"];
        string meta = Path.Combine(folder, "batches.meta");
        string[] names = File.Exists(meta) ? ReadPickledNames(meta, "label_names", 10) : Cifar10ClassNames;
        var (pixels, labels) = ReadPickledBatches(folder, files, "labels", 10);
        return new InMemoryImageDataset($"CIFAR10/{Split(train)}", 3, Side, Side, pixels, labels, names);
    }

    /// <summary>CIFAR-100 python: <paramref name="folder"/> holds train, test, meta.</summary>
    public static InMemoryImageDataset LoadCifar100Python(string folder, bool train, bool coarse = false)
    {
        RequireFolder(folder, "CIFAR100");
        int classes = coarse ? 20 : 100;
        string meta = Path.Combine(folder, "meta");
        if (!File.Exists(meta)) throw new FileNotFoundException($"CIFAR100: {meta} not found; the class names come from it.", meta);
        var names = ReadPickledNames(meta, coarse ? "coarse_label_names" : "fine_label_names", classes);
        var (pixels, labels) = ReadPickledBatches(folder, [train ? "train" : "test"], coarse ? "coarse_labels" : "fine_labels", classes);
        return new InMemoryImageDataset($"CIFAR100/{Split(train)}", 3, Side, Side, pixels, labels, names);
    }

    private static (byte[] pixels, int[] labels) ReadPickledBatches(string folder, string[] files, string labelKey, int classes)
    {
        var parts = new List<(byte[] data, int[] labels)>();
        foreach (var f in files)
        {
            var p = Path.Combine(folder, f);
            if (!File.Exists(p)) throw new FileNotFoundException($"CIFAR file not found: {p}.", p);
            var dict = NumpyPickle.LoadDict(p);
            if (!dict.TryGetValue("data", out var dataObj) || dataObj is not NumpyPickle.NdArray data)
                throw new InvalidDataException($"{p}: no numpy array under key 'data'.");
            if (data.Dtype!.Code != "u1" || data.Shape.Length != 2 || data.Shape[1] != PixelsPerImage || data.Fortran)
                throw new InvalidDataException($"{p}: 'data' is a {data.Dtype.Code} array of shape ({string.Join(", ", data.Shape)}){(data.Fortran ? " in Fortran order" : "")}; a C-order uint8 array of shape (N, {PixelsPerImage}) was expected.");
            if (data.Data.Length != (long)data.Shape[0] * PixelsPerImage)
                throw new InvalidDataException($"{p}: 'data' holds {data.Data.Length} bytes but its shape ({data.Shape[0]}, {PixelsPerImage}) needs {(long)data.Shape[0] * PixelsPerImage}; the file is truncated or damaged.");
            if (!dict.TryGetValue(labelKey, out var labelObj))
                throw new InvalidDataException($"{p}: no '{labelKey}' entry.");
            var labels = NumpyPickle.AsInts(labelObj, p, labelKey);
            if (labels.Length != data.Shape[0])
                throw new InvalidDataException($"{p}: {labels.Length} labels for {data.Shape[0]} images.");
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] < 0 || labels[i] >= classes)
                    throw new InvalidDataException($"{p}: '{labelKey}'[{i}] = {labels[i]}, outside 0..{classes - 1}.");
            parts.Add((data.Data, labels));
        }
        return (parts.SelectMany(x => x.data).ToArray(), parts.SelectMany(x => x.labels).ToArray());
    }

    private static string[] ReadPickledNames(string path, string key, int expected)
    {
        var dict = NumpyPickle.LoadDict(path);
        if (!dict.TryGetValue(key, out var v)) throw new InvalidDataException($"{path}: no '{key}' entry.");
        var names = NumpyPickle.AsStrings(v, path, key);
        if (names.Length != expected) throw new InvalidDataException($"{path}: '{key}' has {names.Length} names, {expected} expected.");
        return names;
    }

    // ---- shared ----

    private static string[]? ReadNameLines(string path, int expected)
    {
        if (!File.Exists(path)) return null;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != expected)
            throw new InvalidDataException($"{path}: {names.Length} class names, {expected} expected (one per line).");
        return names;
    }

    private static void RequireFolder(string folder, string dataset)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{dataset} folder not found: {folder}. {Datasets.HowToGet(dataset)}");
    }

    private static string Split(bool train) => train ? "train" : "test";
}
