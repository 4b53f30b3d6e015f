using SpikeEngine.Data;

namespace SpikeEngine.Workflows;

/// <summary>Which images to evaluate on: a data set (any spelling <see cref="Datasets.Canonical"/> accepts), its folder and split.</summary>
public sealed record DataRequest(string Dataset)
{
    /// <summary>The folder holding the data set (or its parent); null = <see cref="DataSplits.DefaultFolder"/>, and for
    /// Fashion-MNIST also Debian's package folder.</summary>
    public string? Folder { get; init; }
    public DatasetSplit Split { get; init; } = DatasetSplit.Test;
    /// <summary>Only the first N images.</summary>
    public int? Limit { get; init; }
    /// <summary>Fetch a missing CIFAR / MNIST / Fashion-MNIST into <see cref="Folder"/> first.</summary>
    public bool Download { get; init; }
}

/// <summary>An opened split: its images (cut to the limit), the normalisation and the evaluation preprocessing.</summary>
public sealed class ImageSplit(DatasetSplitData data, IImageDataset images)
{
    public string Dataset => data.Name;
    public DatasetSplit Split => data.Split;
    /// <summary>The folder the files were found in.</summary>
    public string Folder => data.Folder;
    public IImageDataset Images { get; } = images;
    public Normalization Normalization => data.Normalization;
    public IImageTransform? Transform => data.Transform;
    public int Count => Images.Count;
    /// <summary>E.g. "CIFAR10 test".</summary>
    public string Description => $"{Dataset} {Split.ToString().ToLowerInvariant()}";

    /// <summary>Batches in data order, the last partial batch kept; <paramref name="normalization"/> overrides the data set's (a checkpoint's own).</summary>
    public DataLoader Loader(int batchSize, Normalization? normalization = null, Distributed.DataShard? shard = null) =>
        new(Images, batchSize, normalization ?? Normalization, transform: Transform) { Shard = shard };

    /// <summary>What to call image <paramref name="index"/> in a report: its file for folder data sets, else its record number.</summary>
    public string RecordName(int index) =>
        (Images is FirstImages first ? first.Inner : Images) is ImageFolder folder
            ? folder.Files[index]
            : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Opens a split of a data set for evaluation (the Runner's eval, snn, diagnose and the benchmarks).</summary>
public static class DataSplits
{
    public const string DefaultFolder = "data";

    /// <summary>Where to look when no folder is given: ./data, and for Fashion-MNIST Debian's dataset-fashion-mnist folder.</summary>
    public static IReadOnlyList<string> DefaultFolders(string dataset) =>
        Datasets.Canonical(dataset) == "FashionMNIST" ? [DefaultFolder, FashionMnist.DebianFolder] : [DefaultFolder];

    /// <summary>Finds and reads the split (<see cref="Datasets.LoadSplit"/>); a missing folder is a <see cref="DirectoryNotFoundException"/> saying how to get the data.</summary>
    public static ImageSplit Open(DataRequest request)
    {
        if (request.Limit is < 1) throw new ArgumentException($"The image limit must be at least 1 (got {request.Limit}).");
        var folder = Folder(request);
        var data = Datasets.LoadSplit(request.Dataset, folder, request.Split, request.Download);
        return new ImageSplit(data, First(data.Images, request.Limit));
    }

    /// <summary>The folder a request reads: the given one, else the first default folder holding the split.</summary>
    public static string Folder(DataRequest request)
    {
        if (request.Folder is { } given) return given;
        var candidates = DefaultFolders(request.Dataset);
        return candidates.FirstOrDefault(f => Datasets.Locate(request.Dataset, f, request.Split) is not null) ?? candidates[0];
    }

    /// <summary>The first <paramref name="limit"/> images of a data set (all of them when null or larger).</summary>
    public static IImageDataset First(IImageDataset set, int? limit) =>
        limit is int n && n < set.Count ? new FirstImages(set, n) : set;
}

/// <summary>The first N images of a data set (--limit, --train_limit).</summary>
internal sealed class FirstImages(IImageDataset inner, int count) : IImageDataset
{
    public IImageDataset Inner { get; } = inner;
    public string Name => Inner.Name;
    public int Count => count;
    public IReadOnlyList<string> ClassNames => Inner.ClassNames;
    public int GetLabel(int index) => Inner.GetLabel(index);
    public Image GetImage(int index) => Inner.GetImage(index);
}
