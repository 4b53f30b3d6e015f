using BenchmarkDotNet.Attributes;
using SpikeEngine.Data;

namespace SpikeEngine.Bench.Data;

/// <summary>
/// Loader throughput with the full CIFAR-10 training augmentation (crop + flip + AutoAugment + Cutout,
/// normalisation, batching): one pass over 5,120 images in batches of 128. Images/s = 5120 / mean time.
/// Uses the real CIFAR-10 when present ($SPIKEENGINE_DATA, else ../shared/data beside the repository), else random
/// images (same cost).
/// Run: dotnet run -c Release --project bench -- --filter '*LoaderBench*' --job short
/// </summary>
[MemoryDiagnoser]
public class LoaderBench
{
    public const int Images = 5120;
    private IImageDataset _data = null!;

    [Params(1, 2)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string real = Path.Combine(SharedData(), "cifar-10-batches-bin");
        if (File.Exists(Path.Combine(real, "data_batch_1.bin")))
            _data = Cifar.LoadCifar10Binary(real, train: true).Take(Images);
        else
        {
            var pixels = new byte[Images * Cifar.PixelsPerImage];
            new Random(1).NextBytes(pixels);
            _data = new InMemoryImageDataset("random", 3, 32, 32, pixels, Enumerable.Range(0, Images).Select(i => i % 10).ToArray(), Cifar.Cifar10ClassNames);
        }
    }

    /// <summary>$SPIKEENGINE_DATA, else ../shared/data beside the repository root (the folder holding SpikeEngine.sln).</summary>
    private static string SharedData()
    {
        if (Environment.GetEnvironmentVariable("SPIKEENGINE_DATA") is { Length: > 0 } set) return set;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SpikeEngine.sln"))) return Path.Combine(d.FullName, "..", "shared", "data");
        return Path.Combine("..", "shared", "data");
    }

    private int _epoch;

    [Benchmark(Description = "CIFAR-10 full augmentation, 5120 images, batch 128")]
    public int FullAugmentationEpoch()
    {
        var loader = new DataLoader(_data, 128, Normalization.Cifar10, shuffle: true, seed: 1, transform: Datasets.CifarFullAugmentation())
        { TensorTransform = new Cutout(16), Workers = Workers };
        int n = 0;
        foreach (var batch in loader.Epoch(_epoch++))
            using (batch) n += batch.Size;
        return n;
    }

    [Benchmark(Description = "CIFAR-10 no augmentation (normalise + batch), 5120 images, batch 128")]
    public int EvalEpoch()
    {
        var loader = new DataLoader(_data, 128, Normalization.Cifar10) { Workers = Workers };
        int n = 0;
        foreach (var batch in loader.Epoch())
            using (batch) n += batch.Size;
        return n;
    }
}
