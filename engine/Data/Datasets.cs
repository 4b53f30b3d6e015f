namespace SpikeEngine.Data;

/// <summary>How much training augmentation <see cref="Datasets.Load"/> sets up.</summary>
public enum Augmentation
{
    /// <summary>No augmentation (deterministic training inputs).</summary>
    None,
    /// <summary>CIFAR: random crop 32 (4 px zero padding) + horizontal flip. ImageNet: random-resized-crop 224 + flip.</summary>
    Basic,
    /// <summary>The reference recipe (cos.md §1). CIFAR: crop + flip + AutoAugment CIFAR-10 policy, then Cutout on the normalised tensor.</summary>
    Full,
}

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
    public DataLoader TrainLoader(int batchSize, int seed = 0) =>
        new(Train, batchSize, Normalization, shuffle: true, seed: seed, transform: TrainTransform) { TensorTransform = TrainTensorTransform };

    /// <summary>Evaluation batches in dataset order, the last partial batch kept.</summary>
    public DataLoader TestLoader(int batchSize) =>
        new(Test, batchSize, Normalization, shuffle: false, transform: TestTransform);
}

/// <summary>
/// Entry point: a dataset name (CIFAR10, CIFAR100, FashionMNIST, MNIST, ImageNet) and a folder give the
/// train/test datasets, normalisation and augmentation. The folder may be the data folder itself or
/// its parent (e.g. the folder holding cifar-10-batches-bin/ or cifar-10-batches-py/).
/// </summary>
public static class Datasets
{
    public static readonly string[] Names = ["CIFAR10", "CIFAR100", "FashionMNIST", "MNIST", "ImageNet"];

    public static string Canonical(string name)
    {
        var key = name.Replace("-", "").Replace("_", "");
        return Names.FirstOrDefault(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown dataset '{name}'; known: {string.Join(", ", Names)}.");
    }

    /// <summary>Loads both splits; with <paramref name="download"/>, fetches a missing dataset first (CIFAR, MNIST, Fashion-MNIST).</summary>
    public static DatasetBundle Load(string name, string folder, Augmentation augmentation = Augmentation.Full, bool download = false)
    {
        name = Canonical(name);
        var found = Locate(name, folder);
        if (found is null && download && name != "ImageNet")
        {
            Downloads.Ensure(name, folder);
            found = Locate(name, folder);
        }
        if (found is null)
            throw new DirectoryNotFoundException($"{name} not found in {folder}. {HowToGet(name)}");
        var (dir, layout) = found.Value;
        return name switch
        {
            "CIFAR10" => CifarBundle(name, dir, layout, Normalization.Cifar10, cutout: 16, augmentation,
                train => layout == "binary" ? Cifar.LoadCifar10Binary(dir, train) : Cifar.LoadCifar10Python(dir, train)),
            "CIFAR100" => CifarBundle(name, dir, layout, Normalization.Cifar100, cutout: 8, augmentation,
                train => layout == "binary" ? Cifar.LoadCifar100Binary(dir, train) : Cifar.LoadCifar100Python(dir, train)),
            "FashionMNIST" => new DatasetBundle(name, dir, layout, FashionMnist.Load(dir, true), FashionMnist.Load(dir, false),
                Normalization.FashionMnist, null, null, null),
            "MNIST" => new DatasetBundle(name, dir, layout, FashionMnist.Load(dir, true, "MNIST", FashionMnist.DigitNames),
                FashionMnist.Load(dir, false, "MNIST", FashionMnist.DigitNames), Normalization.Mnist, null, null, null),
            _ => ImageNet(dir, layout, augmentation),
        };
    }

    private static DatasetBundle CifarBundle(string name, string dir, string layout, Normalization norm, int cutout, Augmentation augmentation, Func<bool, IImageDataset> load)
    {
        var train = load(true);
        var test = load(false);
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

    private static DatasetBundle ImageNet(string dir, string layout, Augmentation augmentation)
    {
        var train = new ImageFolder(Path.Combine(dir, "train"), "ImageNet/train");
        var val = new ImageFolder(Path.Combine(dir, "val"), "ImageNet/val");
        if (!train.ClassNames.SequenceEqual(val.ClassNames))
            throw new InvalidDataException($"{dir}: train/ has {train.ClassNames.Count} classes and val/ has {val.ClassNames.Count}, or their names differ; both need the same class sub-folders.");
        var eval = new Compose(new Resize(256), new CenterCrop(224));
        IImageTransform trainTransform = augmentation == Augmentation.None
            ? eval
            : new Compose(new RandomResizedCrop(224), new RandomHorizontalFlip());
        return new DatasetBundle("ImageNet", dir, layout, train, val, Normalization.ImageNet, trainTransform, null, eval);
    }

    /// <summary>Finds the folder holding the dataset's files and its layout, or null.</summary>
    public static (string folder, string layout)? Locate(string name, string folder)
    {
        name = Canonical(name);
        if (!Directory.Exists(folder)) return null;
        bool Has(string dir, params string[] files) => files.All(f => File.Exists(Path.Combine(dir, f)));
        bool HasIdx(string dir) => File.Exists(Path.Combine(dir, "train-images-idx3-ubyte.gz")) || File.Exists(Path.Combine(dir, "train-images-idx3-ubyte"));
        IEnumerable<string> Candidates(params string[] subfolders) => new[] { folder }.Concat(subfolders.Select(s => Path.Combine(folder, s))).Where(Directory.Exists);
        switch (name)
        {
            case "CIFAR10":
                foreach (var d in Candidates("cifar-10-batches-bin", "cifar-10-batches-py"))
                {
                    if (Has(d, "data_batch_1.bin")) return (d, "binary");
                    if (Has(d, "data_batch_1")) return (d, "python");
                }
                return null;
            case "CIFAR100":
                foreach (var d in Candidates("cifar-100-binary", "cifar-100-python"))
                {
                    if (Has(d, "train.bin")) return (d, "binary");
                    if (Has(d, "train", "meta")) return (d, "python");
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
                    if (Directory.Exists(Path.Combine(d, "train")) && Directory.Exists(Path.Combine(d, "val"))) return (d, "imagefolder");
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
