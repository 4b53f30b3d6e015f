namespace SpikeEngine.Runner.Cli;

/// <summary>What a --dataset name means: its canonical spelling, class count and image size.</summary>
public sealed record DatasetKind(string Name, int Classes, int Channels, int ImageSize, string HowToGet);

/// <summary>The data sets and architectures the Runner accepts, with the reference's spellings.</summary>
public static class Catalog
{
    public static readonly IReadOnlyList<DatasetKind> Datasets =
    [
        new("CIFAR10", 10, 3, 32,
            "use --download, or put cifar-10-batches-bin/ (or cifar-10-batches-py/) from https://www.cs.toronto.edu/~kriz/cifar.html in --datadir"),
        new("CIFAR100", 100, 3, 32,
            "use --download, or put cifar-100-binary/ (or cifar-100-python/) from https://www.cs.toronto.edu/~kriz/cifar.html in --datadir"),
        new("ImageNet", 1000, 3, 224,
            "ImageNet cannot be downloaded automatically: get ILSVRC-2012 from https://image-net.org and pass --train_dir / --test_dir folders laid out as <folder>/<class>/<image>"),
        new("FashionMNIST", 10, 1, 28,
            "use --download, install Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist), or put the four IDX .gz files in --datadir"),
        new("MNIST", 10, 1, 28,
            "use --download, or put the four MNIST IDX .gz files (train-images-idx3-ubyte.gz, ...) in --datadir"),
    ];

    public static readonly IReadOnlyList<string> Architectures =
        ["vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet20", "resnet34", "cnn"];

    public static DatasetKind Dataset(string name)
    {
        var key = Normalize(name);
        return Datasets.FirstOrDefault(d => Normalize(d.Name) == key)
            ?? throw new CliError($"Unknown --dataset '{name}'. Valid: {string.Join(", ", Datasets.Select(d => d.Name))}.");
    }

    public static string Architecture(string name)
    {
        var key = name.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "");
        return Architectures.FirstOrDefault(a => a == key)
            ?? throw new CliError($"Unknown --net_arch '{name}'. Valid: {string.Join(", ", Architectures)}.");
    }

    private static string Normalize(string s) => s.Trim().ToUpperInvariant().Replace("-", "").Replace("_", "");
}
