using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Gpu;

/// <summary>
/// One GPU benchmark case: a zoo architecture (<see cref="ModelZoo.Create"/>, the Runner's models) at CIFAR-10 shapes
/// (3×32×32, 10 classes) or ImageNet shapes (3×224×224, 1000 classes; ResNet-34 with the torchvision-style stem),
/// at one batch size. tools/peers/gpu_torch.py builds the same networks at the same shapes.
/// With SPIKEENGINE_BENCH_SMOKE=1 every case shrinks to at most 2 images of 32×32 and 4-channel layers (one dry
/// iteration, see <see cref="GpuBenchConfig"/>): a check that the benchmark code runs, e.g. on the emulated device.
/// SPIKEENGINE_BENCH_CUDNN=1 adds the cuDNN convolution runs (a yardstick) beside the engine's own kernels.
/// </summary>
public sealed record GpuModelCase(string Arch, bool ImageNet, int Batch)
{
    public const int Levels = 4;
    public const string SmokeVariable = "SPIKEENGINE_BENCH_SMOKE";
    public static bool Smoke => Environment.GetEnvironmentVariable(SmokeVariable) == "1";

    /// <summary>The values of the benchmarks' Cudnn parameter: false, and true with SPIKEENGINE_BENCH_CUDNN=1.</summary>
    public static IEnumerable<bool> CudnnModes() =>
        Environment.GetEnvironmentVariable("SPIKEENGINE_BENCH_CUDNN") == "1" ? [false, true] : [false];

    public int Size => ImageNet && !Smoke ? 224 : 32;
    public int Classes => ImageNet ? 1000 : 10;

    public Module Create(Device device)
    {
        var vgg = ArchitectureCatalog.FindVgg(Arch);
        int stages = vgg?.Blocks.Length ?? ArchitectureCatalog.FindResNet(Arch)?.Widths.Length
            ?? throw new ArgumentException($"GPU benchmark: unknown architecture '{Arch}'.");
        var options = new ModelOptions
        {
            ImageNet = ImageNet,
            Seed = 1,
            Stem = ImageNet && vgg is null ? ResNetStem.Torchvision : ResNetStem.Reference,
            Widths = Smoke ? Enumerable.Repeat(4, stages).ToArray() : null,
            ClassifierInput = Smoke && vgg is not null ? 4 : null,
            Hidden = Smoke ? 8 : null,
        };
        var model = ModelZoo.Create(Arch, Classes, Levels, options);
        model.To(device);
        return model;
    }

    /// <summary>Uniform images in [-2, 2) on <paramref name="device"/>, and labels, from a fixed seed.</summary>
    public (Tensor Images, int[] Labels) Data(Device device, int seed)
    {
        int batch = Smoke ? Math.Min(Batch, 2) : Batch;
        var rng = new Random(seed);
        var host = new float[batch * 3 * Size * Size];
        for (int i = 0; i < host.Length; i++) host[i] = (float)(rng.NextDouble() * 4 - 2);
        var labels = Enumerable.Range(0, batch).Select(_ => rng.Next(Classes)).ToArray();
        return (Tensor.FromArray(host, new Shape(batch, 3, Size, Size), device), labels);
    }

    /// <summary>Short, since BenchmarkDotNet cuts parameter values past 20 characters: "vgg16/in224/B2", "resnet20/c32/B128"
    /// (in = ImageNet layout, c = CIFAR; the full-size batch even in smoke runs).</summary>
    public override string ToString() => $"{Arch}/{(ImageNet ? "in" : "c")}{Size}/B{Batch}";
}
