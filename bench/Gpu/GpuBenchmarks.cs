using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using SpikeEngine.Backend;
using SpikeEngine.Backend.Cuda;
using SpikeEngine.Nn;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Bench.Gpu;

/// <summary>
/// Short in-process runs: the GPU machine has no .NET SDK (so no out-of-process builds) and little
/// device time (3 warm-up and 3 measured iterations of about 0.5 s each per benchmark). With
/// SPIKEENGINE_BENCH_SMOKE=1 one dry iteration (see <see cref="GpuModelCase"/>).
/// </summary>
public sealed class GpuBenchConfig : ManualConfig
{
    public GpuBenchConfig() => AddJob((GpuModelCase.Smoke ? Job.Dry : Job.ShortRun)
        .WithToolchain(InProcessEmitToolchain.Instance).WithId(GpuModelCase.Smoke ? "gpu-smoke" : "gpu-short"));
}

/// <summary>
/// SNN latency per time step on the GPU, through the Runner's path: <see cref="ModelZoo.Create"/>, the model on the
/// device, <see cref="SpikingNetwork.Convert"/>, <see cref="SpikingNetwork.Simulate"/> with COS ρ = T = 8; the time of
/// one run of the batch divided by T. Peer: tools/peers/gpu_torch.py (same models and shapes).
/// Run: dotnet run -c Release --project bench -- --filter '*GpuSnn*' (or the published SpikeEngine.Bench on the GPU machine)
/// </summary>
[Config(typeof(GpuBenchConfig))]
public class GpuSnnBenchmarks
{
    public const int Steps = 8;

    public static IEnumerable<GpuModelCase> Cases() =>
    [
        new("resnet20", false, 1), new("resnet20", false, 128), new("vgg16", false, 1), new("vgg16", false, 128),
        new("vgg16", true, 2), new("resnet34", true, 2),
    ];

    [ParamsSource(nameof(Cases))] public GpuModelCase Case { get; set; } = null!;
    [ParamsSource(typeof(GpuModelCase), nameof(GpuModelCase.CudnnModes))] public bool Cudnn { get; set; }

    private CudaBackend _b = null!;
    private SpikingNetwork _snn = null!;
    private Tensor _images = null!;
    private readonly SimulationSettings _settings = new(Steps, presim: Steps);

    [GlobalSetup]
    public void Setup()
    {
        _b = GpuBench.Backend(Cudnn);
        var ann = Case.Create(Device.Cuda(0));
        ann.Eval();
        _snn = SpikingNetwork.Convert(ann);
        (_images, _) = Case.Data(Device.Cuda(0), 3);
    }

    [Benchmark(OperationsPerInvoke = Steps, Description = "SNN COS run (rho = T = 8), per time step")]
    public void SnnPerStep()
    {
        using var outputs = _snn.Simulate(_images, _settings);
        _b.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_b is not null) _b.UseCudnn = false;
        _images?.Dispose();
    }
}

/// <summary>What the GPU benchmarks share: the CUDA backend, with cuDNN on or off.</summary>
internal static class GpuBench
{
    public static CudaBackend Backend(bool cudnn)
    {
        var reason = CudaBackend.UnavailableReason();
        if (reason is not null) throw new InvalidOperationException("CUDA unavailable: " + reason);
        var b = (CudaBackend)Backends.For(Device.Cuda(0));
        if (cudnn && !b.CudnnAvailable) throw new InvalidOperationException(b.CudnnUnavailableReason);
        b.UseCudnn = cudnn;
        return b;
    }
}

/// <summary>The kernels that dominate an SNN run, at VGG-16 CIFAR shapes (T·B = 512 samples).</summary>
[Config(typeof(GpuBenchConfig))]
public class GpuKernelBenchmarks
{
    private IBackend _b = null!;
    private Tensor _x = null!, _w = null!, _bias = null!, _y = null!, _spikes = null!;
    private Conv2dGeometry _g;

    [GlobalSetup]
    public void Setup()
    {
        var reason = CudaBackend.UnavailableReason();
        if (reason is not null) throw new InvalidOperationException("CUDA unavailable: " + reason);
        _b = Backends.For(Device.Cuda(0));
        _g = new Conv2dGeometry(512, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1);
        _x = Tensor.Full(_g.InputShape, 0.5f, Device.Cuda(0));
        _w = Tensor.Full(_g.WeightShape, 0.01f, Device.Cuda(0));
        _bias = Tensor.Zeros(new Shape(_g.K), Device.Cuda(0));
        _y = _b.Empty(_g.OutputShape);
        _spikes = _b.Empty(_g.OutputShape);
    }

    [Benchmark(Description = "conv 128->128 3x3 at 16x16, 512 samples")]
    public void Conv() { _b.Conv2dForward(_x, _w, _bias, _y, _g); _b.Synchronize(); }

    [Benchmark(Description = "cuDNN conv 128->128 3x3 at 16x16, 512 samples (yardstick)")]
    public void CudnnConv()
    {
        var cuda = (CudaBackend)_b;
        if (!cuda.CudnnAvailable) throw new InvalidOperationException(cuda.CudnnUnavailableReason);
        cuda.CudnnConvolutionForward(_x, _w, _bias, _y, _g);
        _b.Synchronize();
    }

    [Benchmark(Description = "IF+COS rho=T=4 over 512x128x16x16")]
    public void IfCos() { _b.IfNeuronForward(_y, 4, 1f, 4, 1, _spikes, null); _b.Synchronize(); }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _w, _bias, _y, _spikes }) t?.Dispose();
    }
}

/// <summary>
/// ANN training throughput on the GPU, through the Trainer's step (<see cref="TrainingStep.Run"/>: forward,
/// cross-entropy, backward, SGD with momentum and weight decay) on a <see cref="ModelZoo.Create"/> model on the device;
/// reported per image (OperationsPerInvoke = batch, so images/s = 1 / that). Peer: tools/peers/gpu_torch.py.
/// </summary>
[Config(typeof(GpuBenchConfig))]
public class GpuTrainingBenchmarks
{
    public static IEnumerable<GpuModelCase> Cases() =>
    [
        new("resnet20", false, Batch), new("vgg16", false, Batch), new("vgg16", true, Batch), new("resnet34", true, Batch),
    ];

    /// <summary>One batch size for every case (OperationsPerInvoke is a constant); small enough for ImageNet shapes.</summary>
    public const int Batch = 32;

    [ParamsSource(nameof(Cases))] public GpuModelCase Case { get; set; } = null!;
    [ParamsSource(typeof(GpuModelCase), nameof(GpuModelCase.CudnnModes))] public bool Cudnn { get; set; }

    private CudaBackend _b = null!;
    private Module _model = null!;
    private Sgd _sgd = null!;
    private Tensor _images = null!;
    private int[] _labels = null!;

    [GlobalSetup]
    public void Setup()
    {
        _b = GpuBench.Backend(Cudnn);
        _model = Case.Create(Device.Cuda(0));
        _model.Train();
        _sgd = new Sgd(_model.NamedParameters(), 0.02f, 0.9f, 5e-4f);
        (_images, _labels) = Case.Data(Device.Cuda(0), 4);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "training step, per image")]
    public float TrainPerImage()
    {
        // TrainingStep reads the loss back (Item), which synchronises with the device every step, as training does.
        return TrainingStep.Run(_model, _sgd, _images, _labels).Loss;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_b is not null) _b.UseCudnn = false;
        _images?.Dispose();
    }
}
