using BenchmarkDotNet.Attributes;
using SpikeEngine.Backend;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Snn;

// Run: dotnet run -c Release --project bench -- --filter '*IfNeuronKernel*' (or *SnnInference*, *SnnCosSideBySide*).
// Short jobs (1 warm-up, 3 measured iterations) keep the grid to a few minutes. Latency per time step =
// mean / (ρ + T); images/s = Batch / mean.

internal static class SnnBenchModels
{
    /// <summary>A CIFAR-shaped model with reference initialisation, BN left at identity statistics and λ = 1
    /// (about unit-variance pre-activations, so IF layers fire at realistic rates; printed in setup).</summary>
    public static (SpikingNetwork Snn, Tensor Images) Create(string arch, int batch)
    {
        var ann = ModelZoo.Create(arch, 10, 4, new ModelOptions { Seed = 1 });
        foreach (var (_, q) in ModelZoo.QcfsUnits(ann)) q.Up.Backend.Fill(q.Up, 1f);
        var rng = new Random(2);
        var data = new float[batch * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        return (SpikingNetwork.Convert(ann), Tensor.FromArray(data, new Shape(batch, 3, 32, 32)));
    }

    public static void PrintFiringRates(string arch, SpikingNetwork snn, Tensor images, SimulationSettings settings)
    {
        var recorder = new SpikeRecorder();
        snn.Simulate(images, settings, recorder).Dispose();
        var stats = recorder.Result();
        double spikes = stats.Layers.Sum(l => l.FiringRate * l.NeuronsPerImage), neurons = stats.Layers.Sum(l => (double)l.NeuronsPerImage);
        Console.WriteLine($"// {arch} {settings}: mean IF firing rate {spikes / neurons:F4}; per layer {string.Join(" ", stats.Layers.Select(l => l.FiringRate.ToString("F3")))}");
    }
}

[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class IfNeuronKernelBenchmark
{
    private Tensor _input = null!, _output = null!;

    /// <summary>Neurons per step: 32 images × 16 × 32 × 32 (a ResNet-20 stage-1 layer).</summary>
    public const int Neurons = 32 * 16 * 32 * 32;

    [Params(4, 8)] public int Steps { get; set; }
    [Params(0, 4)] public int Rho { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var data = new float[Neurons * Steps];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 0.5);
        _input = Tensor.FromArray(data, new Shape(Steps * 32, 16, 32, 32));
        _output = Tensor.Empty(_input.Shape);
    }

    [Benchmark]
    public void IfNeuronForward() => Backends.Cpu.IfNeuronForward(_input, Steps, 1.3f, Rho, 1, _output, null);

    [GlobalCleanup]
    public void Cleanup() { _input.Dispose(); _output.Dispose(); }
}

[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class SnnInferenceBenchmark
{
    private SpikingNetwork _snn = null!;
    private Tensor _images = null!;

    [Params("resnet20", "vgg16")] public string Arch { get; set; } = "resnet20";
    [Params(1, 64)] public int Batch { get; set; }
    [Params(1, 2, 4, 8)] public int Steps { get; set; }
    [Params(0, 4)] public int Rho { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_snn, _images) = SnnBenchModels.Create(Arch, Batch);
        SnnBenchModels.PrintFiringRates(Arch, _snn, _images, new SimulationSettings(Steps, Rho));
    }

    [Benchmark]
    public void Simulate() => _snn.Simulate(_images, new SimulationSettings(Steps, Rho)).Dispose();

    [GlobalCleanup]
    public void Cleanup() => _images.Dispose();
}

/// <summary>The side-by-side setting of tools/peers/snn_torch.py: COS T = 4, ρ = 4, batch 32.</summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class SnnCosSideBySideBenchmark
{
    private SpikingNetwork _snn = null!;
    private Tensor _images = null!;

    [Params("resnet20", "vgg16")] public string Arch { get; set; } = "resnet20";

    [GlobalSetup]
    public void Setup()
    {
        (_snn, _images) = SnnBenchModels.Create(Arch, 32);
        SnnBenchModels.PrintFiringRates(Arch, _snn, _images, new SimulationSettings(4, 4));
    }

    [Benchmark]
    public void CosT4Rho4Batch32() => _snn.Simulate(_images, new SimulationSettings(4, 4)).Dispose();

    [GlobalCleanup]
    public void Cleanup() => _images.Dispose();
}
