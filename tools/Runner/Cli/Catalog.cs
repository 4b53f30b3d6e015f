namespace SpikeEngine.Runner.Cli;

/// <summary>What a --dataset name means: its canonical spelling, class count and image size.</summary>
public sealed record DatasetKind(string Name, int Classes, int Channels, int ImageSize)
{
    /// <summary>Where to get the data and how its folder must look (the data library's own advice).</summary>
    public string HowToGet => SpikeEngine.Data.Datasets.HowToGet(Name);
}

/// <summary>The data sets and architectures the Runner accepts, with the reference's spellings.</summary>
public static class Catalog
{
    public static readonly IReadOnlyList<DatasetKind> Datasets =
    [
        new("CIFAR10", 10, 3, 32),
        new("CIFAR100", 100, 3, 32),
        new("ImageNet", 1000, 3, 224),
        new("FashionMNIST", 10, 1, 28),
        new("MNIST", 10, 1, 28),
    ];

    public static IReadOnlyList<string> Architectures => SpikeEngine.Nn.Models.Models.Architectures;

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
