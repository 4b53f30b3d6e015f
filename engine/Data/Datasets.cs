namespace SpikeEngine.Data;

/// <summary>How much training augmentation <see cref="Datasets.Load"/> sets up.</summary>
public enum Augmentation
{
    /// <summary>No augmentation (deterministic training inputs).</summary>
    None,
    /// <summary>CIFAR: random crop 32 (4 px zero padding) + horizontal flip. ImageNet: random-resized-crop 224 + flip.</summary>
    Basic,
    /// <summary>The reference recipe (METHOD.md §1). CIFAR: crop + flip + AutoAugment CIFAR-10 policy, then Cutout on the normalised tensor.</summary>
    Full,
}

/// <summary>Which part of a data set: the training images or the test (validation) images.</summary>
public enum DatasetSplit { Train, Test }

/// <summary>A data set's name, class count, image channels and image side.</summary>
public sealed record DatasetInfo(string Name, int Classes, int Channels, int ImageSize);

/// <summary>One split opened for evaluation: its images, the normalisation and the evaluation preprocessing.</summary>
public sealed record DatasetSplitData(string Name, DatasetSplit Split, string Folder, string Layout, IImageDataset Images,
    Normalization Normalization, IImageTransform? Transform);

/// <summary>A dataset ready for training: both splits, the normalisation, and the transforms of each split.</summary>
public sealed record DatasetBundle(
    string Name,
    string Folder,
    string Layout,
    IImageDataset Train,
    IImageDataset Test,
    Normalization Normalization,
    IImageTransform? TrainTransform,
    ITensorTransform? TrainTensorTransform,
    IImageTransform? TestTransform)
{
    public int Classes => Train.ClassNames.Count;

    /// <summary>Shuffled, augmented training batches.</summary>
    public DataLoader TrainLoader(int batchSize, int seed = 0, Distributed.DataShard? shard = null) =>
        new(Train, batchSize, Normalization, shuffle: true, seed: seed, transform: TrainTransform) { TensorTransform = TrainTensorTransform, Shard = shard };

    /// <summary>Evaluation batches in dataset order, the last partial batch kept.</summary>
    public DataLoader TestLoader(int batchSize, Distributed.DataShard? shard = null) =>
        new(Test, batchSize, Normalization, shuffle: false, transform: TestTransform) { Shard = shard };
}

/// <summary>
/// Entry point: a dataset name (CIFAR10, CIFAR100, FashionMNIST, MNIST, ImageNet) and a folder give the
/// train/test datasets, normalisation and augmentation. The folder may be the data folder itself or
/// its parent (e.g. the folder holding cifar-10-batches-bin/ or cifar-10-batches-py/).
/// </summary>
public static class Datasets
{
    /// <summary>The data sets the engine reads: canonical name, class count, image channels and side (the network input).</summary>
    public static readonly IReadOnlyList<DatasetInfo> Known =
    [
        new("CIFAR10", 10, 3, 32),
        new("CIFAR100", 100, 3, 32),
        new("ImageNet", 1000, 3, 224),
        new("FashionMNIST", 10, 1, 28),
        new("MNIST", 10, 1, 28),
    ];

    public static readonly string[] Names = Known.Select(d => d.Name).ToArray();

    /// <summary>Class count, channels and image side of a data set (any spelling <see cref="Canonical"/> accepts).</summary>
    public static DatasetInfo Info(string name)
    {
        var canonical = Canonical(name);
        return Known.First(d => d.Name == canonical);
    }

    /// <summary>The normalisation the engine trains and evaluates the data set with.</summary>
    public static Normalization NormalizationOf(string name) => Canonical(name) switch
    {
        "CIFAR10" => Normalization.Cifar10,
        "CIFAR100" => Normalization.Cifar100,
        "ImageNet" => Normalization.ImageNet,
        "MNIST" => Normalization.Mnist,
        _ => Normalization.FashionMnist,
    };

    /// <summary>The evaluation preprocessing (no augmentation): ImageNet Resize(256) + CenterCrop(224), nothing for the others.</summary>
    public static IImageTransform? EvaluationTransform(string name) =>
        Canonical(name) == "ImageNet" ? new Compose(new Resize(256), new CenterCrop(224)) : null;

    /// <summary>
    /// One split without augmentation, for evaluation: found with <see cref="Locate"/> (the test split needs only the
    /// test files; for ImageNet a folder of class folders is taken as the validation split itself). With
    /// <paramref name="download"/>, a missing CIFAR/MNIST/Fashion-MNIST is fetched first.
    /// </summary>
    public static DatasetSplitData LoadSplit(string name, string folder, DatasetSplit split, bool download = false)
    {
        name = Canonical(name);
        if (download && name != "ImageNet" && Locate(name, folder, split) is null) Downloads.Ensure(name, folder);
        var (dir, layout) = Require(name, folder, split);
        return new DatasetSplitData(name, split, dir, layout, Read(name, dir, layout, split), NormalizationOf(name), EvaluationTransform(name));
    }

    /// <summary>Where the split's files are (<see cref="Locate"/>); a clear <see cref="DirectoryNotFoundException"/> (which files, where, how to get them) when they are not there.</summary>
    public static (string folder, string layout) Require(string name, string folder, DatasetSplit split)
    {
        name = Canonical(name);
        return Locate(name, folder, split) ?? throw NotFound(name, folder, split);
    }

    /// <summary>The error for a split that is not where it was looked for: which files, which folder, how to get them.</summary>
    private static DirectoryNotFoundException NotFound(string name, string folder, DatasetSplit split)
    {
        bool test = split == DatasetSplit.Test;
        string files = name switch
        {
            "CIFAR10" => test ? "test_batch.bin or test_batch" : "data_batch_1.bin or data_batch_1",
            "CIFAR100" => test ? "test.bin or test + meta" : "train.bin or train + meta",
            "ImageNet" => test ? "val/<class>/<image> or <class>/<image>" : "train/ and val/",
            _ => test ? "t10k-images-idx3-ubyte(.gz)" : "train-images-idx3-ubyte(.gz)",
        };
        return new DirectoryNotFoundException($"{name} data not found (looked for {files} in {Path.GetFullPath(folder)} and its usual sub-folders). {HowToGet(name)}");
    }

    /// <summary>The images of one split of a located data set (<paramref name="dir"/> and <paramref name="layout"/> from <see cref="Locate"/>).</summary>
    private static IImageDataset Read(string name, string dir, string layout, DatasetSplit split)
    {
        bool train = split == DatasetSplit.Train;
        return name switch
        {
            "CIFAR10" => layout == "binary" ? Cifar.LoadCifar10Binary(dir, train) : Cifar.LoadCifar10Python(dir, train),
            "CIFAR100" => layout == "binary" ? Cifar.LoadCifar100Binary(dir, train) : Cifar.LoadCifar100Python(dir, train),
            "FashionMNIST" => FashionMnist.Load(dir, train),
            "MNIST" => FashionMnist.Load(dir, train, "MNIST", FashionMnist.DigitNames),
            _ when layout == ClassFoldersLayout => new ImageFolder(dir, train ? "ImageNet/train" : "ImageNet/val"),
            _ => new ImageFolder(Path.Combine(dir, train ? "train" : "val"), train ? "ImageNet/train" : "ImageNet/val"),
        };
    }

    /// <summary>ImageNet layout of a folder that is itself one split (&lt;class&gt;/&lt;image&gt;), e.g. the Runner's --test_dir.</summary>
    public const string ClassFoldersLayout = "classfolders";

    public static string Canonical(string name)
    {
        var key = name.Trim().Replace("-", "").Replace("_", "");
        return Names.FirstOrDefault(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown dataset '{name}'; known: {string.Join(", ", Names)}.");
    }

    /// <summary>Loads both splits; with <paramref name="download"/>, fetches a missing dataset first (CIFAR, MNIST, Fashion-MNIST).</summary>
    public static DatasetBundle Load(string name, string folder, Augmentation augmentation = Augmentation.Full, bool download = false)
    {
        name = Canonical(name);
        if (download && name != "ImageNet" && Locate(name, folder) is null) Downloads.Ensure(name, folder);
        var (dir, layout) = Require(name, folder, DatasetSplit.Train);
        return name switch
        {
            "CIFAR10" => CifarBundle(name, dir, layout, cutout: 16, augmentation),
            "CIFAR100" => CifarBundle(name, dir, layout, cutout: 8, augmentation),
            "FashionMNIST" or "MNIST" => new DatasetBundle(name, dir, layout, Read(name, dir, layout, DatasetSplit.Train),
                Read(name, dir, layout, DatasetSplit.Test), NormalizationOf(name), null, null, null),
            _ => ImageNet(dir, layout, augmentation),
        };
    }

    private static DatasetBundle CifarBundle(string name, string dir, string layout, int cutout, Augmentation augmentation)
    {
        var norm = NormalizationOf(name);
        var train = Read(name, dir, layout, DatasetSplit.Train);
        var test = Read(name, dir, layout, DatasetSplit.Test);
        IImageTransform? transform = augmentation switch
        {
            Augmentation.None => null,
            Augmentation.Basic => CifarBasicAugmentation(),
            _ => CifarFullAugmentation(),
        };
        return new DatasetBundle(name, dir, layout, train, test, norm, transform,
            augmentation == Augmentation.Full ? new Cutout(cutout) : null, null);
    }

    /// <summary>RandomCrop(32, padding 4) + RandomHorizontalFlip.</summary>
    public static IImageTransform CifarBasicAugmentation() => new Compose(new RandomCrop(32, 4), new RandomHorizontalFlip());

    /// <summary>The reference's 8-bit stage: RandomCrop(32, 4) → RandomHorizontalFlip → CIFAR10Policy (Cutout follows on the normalised tensor).</summary>
    public static IImageTransform CifarFullAugmentation() => new Compose(new RandomCrop(32, 4), new RandomHorizontalFlip(), new CifarAutoAugment());

    private static DatasetBundle ImageNet(string dir, string layout, Augmentation augmentation) =>
        ImageNetFromFolders(Path.Combine(dir, "train"), Path.Combine(dir, "val"), augmentation, dir, layout);

    /// <summary>ImageNet from a training and a validation folder, each &lt;class&gt;/&lt;image&gt; (e.g. the Runner's --train_dir and --test_dir).</summary>
    public static DatasetBundle ImageNetFromFolders(string trainFolder, string valFolder, Augmentation augmentation = Augmentation.Full) =>
        ImageNetFromFolders(trainFolder, valFolder, augmentation, trainFolder, ClassFoldersLayout);

    private static DatasetBundle ImageNetFromFolders(string trainFolder, string valFolder, Augmentation augmentation, string dir, string layout)
    {
        var train = new ImageFolder(trainFolder, "ImageNet/train");
        var val = new ImageFolder(valFolder, "ImageNet/val");
        if (!train.ClassNames.SequenceEqual(val.ClassNames))
            throw new InvalidDataException($"{dir}: train/ has {train.ClassNames.Count} classes and val/ has {val.ClassNames.Count}, or their names differ; both need the same class sub-folders.");
        var eval = EvaluationTransform("ImageNet")!;
        IImageTransform trainTransform = augmentation == Augmentation.None
            ? eval
            : new Compose(new RandomResizedCrop(224), new RandomHorizontalFlip());
        return new DatasetBundle("ImageNet", dir, layout, train, val, NormalizationOf("ImageNet"), trainTransform, null, eval);
    }

    /// <summary>
    /// Finds the folder holding the dataset's files of <paramref name="split"/> and its layout, or null. The folder
    /// may be the data folder itself or its parent (the archive and torchvision sub-folders are searched).
    /// </summary>
    public static (string folder, string layout)? Locate(string name, string folder, DatasetSplit split = DatasetSplit.Train)
    {
        name = Canonical(name);
        if (!Directory.Exists(folder)) return null;
        bool test = split == DatasetSplit.Test;
        bool Has(string dir, params string[] files) => files.All(f => File.Exists(Path.Combine(dir, f)));
        string idx = test ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte";
        bool HasIdx(string dir) => File.Exists(Path.Combine(dir, idx + ".gz")) || File.Exists(Path.Combine(dir, idx));
        IEnumerable<string> Candidates(params string[] subfolders) => new[] { folder }.Concat(subfolders.Select(s => Path.Combine(folder, s))).Where(Directory.Exists);
        bool HasClassFolders(string dir) => Directory.Exists(dir) && Directory.EnumerateDirectories(dir).Any();
        switch (name)
        {
            case "CIFAR10":
                foreach (var d in Candidates("cifar-10-batches-bin", "cifar-10-batches-py"))
                {
                    if (Has(d, test ? "test_batch.bin" : "data_batch_1.bin")) return (d, "binary");
                    if (Has(d, test ? "test_batch" : "data_batch_1")) return (d, "python");
                }
                return null;
            case "CIFAR100":
                foreach (var d in Candidates("cifar-100-binary", "cifar-100-python"))
                {
                    if (Has(d, test ? "test.bin" : "train.bin")) return (d, "binary");
                    if (Has(d, test ? "test" : "train", "meta")) return (d, "python");
                }
                return null;
            case "FashionMNIST":
                foreach (var d in Candidates("FashionMNIST/raw", "fashion-mnist", "FashionMNIST"))
                    if (HasIdx(d)) return (d, "idx");
                return null;
            case "MNIST":
                foreach (var d in Candidates("MNIST/raw", "mnist", "MNIST"))
                    if (HasIdx(d)) return (d, "idx");
                return null;
            default:
                foreach (var d in Candidates("imagenet", "ImageNet"))
                    if (test ? HasClassFolders(Path.Combine(d, "val")) : Directory.Exists(Path.Combine(d, "train")) && Directory.Exists(Path.Combine(d, "val")))
                        return (d, "imagefolder");
                // A validation folder given directly (<class>/<image>).
                if (test && HasClassFolders(folder) && !Directory.Exists(Path.Combine(folder, "train"))) return (folder, ClassFoldersLayout);
                return null;
        }
    }

    /// <summary>Where a user gets the dataset and how its folder must look.</summary>
    public static string HowToGet(string name) => Canonical(name) switch
    {
        "CIFAR10" => "Get it from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-binary.tar.gz or cifar-10-python.tar.gz) and unpack it so that the folder, or a sub-folder cifar-10-batches-bin/ or cifar-10-batches-py/, holds data_batch_1..5[.bin] and test_batch[.bin]; or run with --download.",
        "CIFAR100" => "Get it from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-100-binary.tar.gz or cifar-100-python.tar.gz) and unpack it so that the folder, or a sub-folder cifar-100-binary/ or cifar-100-python/, holds train.bin + test.bin (+ fine_label_names.txt) or train + test + meta; or run with --download.",
        "FashionMNIST" => $"Install Debian's dataset-fashion-mnist package (files in {FashionMnist.DebianFolder}), get the four IDX .gz files from https://github.com/zalandoresearch/fashion-mnist (data/fashion/) into the folder, or run with --download.",
        "MNIST" => "Put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (from https://ossci-datasets.s3.amazonaws.com/mnist/) in the folder or its MNIST/raw/ sub-folder, or run with --download.",
        _ => "ImageNet cannot be downloaded automatically: get ILSVRC-2012 from https://image-net.org and arrange it as <folder>/train/<class>/*.JPEG and <folder>/val/<class>/*.JPEG (one sub-folder per class in both).",
    };
}
