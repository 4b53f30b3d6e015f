using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using SpikeEngine.Backend;
using SpikeEngine.Backend.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Gpu;

/// <summary>
/// Short in-process runs: the GPU machine has no .NET SDK (so no out-of-process builds) and little
/// device time (3 warm-up and 3 measured iterations of about 0.5 s each per benchmark).
/// </summary>
public sealed class GpuBenchConfig : ManualConfig
{
    public GpuBenchConfig() => AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("gpu-short"));
}

/// <summary>
/// SNN latency per time step on the GPU: one COS run (ρ = T = 4) of VGG-16 / ResNet-20 (CIFAR shapes),
/// reported per step (OperationsPerInvoke = T). Peer: tools/peers/gpu_torch.py (same models and shapes).
/// Run: dotnet run -c Release --project bench -- --filter '*Gpu*' (or the published SpikeEngine.Bench on the GPU machine)
/// </summary>
[Config(typeof(GpuBenchConfig))]
public class GpuSnnBenchmarks
{
    public const int Steps = 4, Presim = 4;

    [Params("VGG-16", "ResNet-20")] public string Model { get; set; } = "VGG-16";
    [Params(1, 128)] public int Batch { get; set; }
    [Params(false, true)] public bool Cudnn { get; set; }

    private CudaBackend _b = null!;
    private SnnBenchModel _model = null!;
    private Tensor _images = null!;

    [GlobalSetup]
    public void Setup()
    {
        var reason = CudaBackend.UnavailableReason();
        if (reason is not null) throw new InvalidOperationException("CUDA unavailable: " + reason);
        _b = (CudaBackend)Backends.For(Device.Cuda(0));
        if (Cudnn && !_b.CudnnAvailable) throw new InvalidOperationException(_b.CudnnUnavailableReason);
        _b.UseCudnn = Cudnn;
        _model = new SnnBenchModel(_b, Model, Steps, Presim);
        int n = Math.Max(Steps, Presim) * Batch;
        var rng = new Random(3);
        var one = new float[Batch * 3 * 32 * 32];
        for (int i = 0; i < one.Length; i++) one[i] = (float)(rng.NextDouble() * 4 - 2);
        var all = new float[n * 3 * 32 * 32];
        for (int t = 0; t < n / Batch; t++) one.CopyTo(all, t * one.Length);
        _images = Tensor.FromArray(all, new Shape(n, 3, 32, 32), Device.Cuda(0));
    }

    [Benchmark(OperationsPerInvoke = Steps, Description = "SNN COS run, per time step")]
    public int[][] SnnPerStep() => _model.Run(_images, Batch);

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_b is not null) _b.UseCudnn = false;
        _images?.Dispose();
        _model?.Dispose();
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
/// ANN training throughput on the GPU: one SGD step of QCFS VGG-16 / ResNet-20 at batch 128 (CIFAR shapes),
/// reported per image (OperationsPerInvoke = batch; images/s = 1 / that). Peer: tools/peers/gpu_torch.py.
/// </summary>
[Config(typeof(GpuBenchConfig))]
public class GpuTrainingBenchmarks
{
    public const int Batch = 128;

    [Params("VGG-16", "ResNet-20")] public string Model { get; set; } = "VGG-16";
    [Params(false, true)] public bool Cudnn { get; set; }

    private CudaBackend _b = null!;
    private TrainBenchModel _model = null!;
    private Tensor _images = null!;
    private int[] _labels = null!;
    private bool _first = true;

    [GlobalSetup]
    public void Setup()
    {
        var reason = CudaBackend.UnavailableReason();
        if (reason is not null) throw new InvalidOperationException("CUDA unavailable: " + reason);
        _b = (CudaBackend)Backends.For(Device.Cuda(0));
        if (Cudnn && !_b.CudnnAvailable) throw new InvalidOperationException(_b.CudnnUnavailableReason);
        _b.UseCudnn = Cudnn;
        _model = new TrainBenchModel(_b, Model);
        var rng = new Random(4);
        var host = new float[Batch * 3 * 32 * 32];
        for (int i = 0; i < host.Length; i++) host[i] = (float)(rng.NextDouble() * 4 - 2);
        _images = Tensor.FromArray(host, new Shape(Batch, 3, 32, 32), Device.Cuda(0));
        _labels = Enumerable.Range(0, Batch).Select(_ => rng.Next(10)).ToArray();
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "training step, per image")]
    public float TrainPerImage()
    {
        float loss = _model.TrainStep(_images, _labels, _first);
        _first = false;
        _b.Synchronize();
        return loss;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_b is not null) _b.UseCudnn = false;
        _images?.Dispose();
        _model?.Dispose();
    }
}
