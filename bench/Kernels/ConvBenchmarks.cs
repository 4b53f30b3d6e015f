using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpikeEngine.Backend;
using SpikeEngine.Backend.Cpu;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Kernels;

// Run: dotnet run -c Release --project bench -- --filter '*ConvBenchmarks*' --job short
// Conv layers of CIFAR VGG-16 / ResNet-20 at batch 64; each op costs 2·MACs flops. Winograd=False: the layers the
// Winograd path takes (VGG-16's 64 × 32×32, 256 × 8×8) on the direct/im2col path instead, for the side-by-side.
// PyTorch peer at the same shapes: /usr/bin/python3 tools/peers/gemm_torch.py

public sealed record ConvCase(string Layer, int N, int C, int H, int K, int Kernel, int Stride, int Pad) : IFlopCase
{
    public Conv2dGeometry Geometry => new(N, C, H, H, K, Kernel, Kernel, Stride, Stride, Pad, Pad);
    public double Flops => 2.0 * Geometry.Macs;
    public override string ToString() => Layer;
}

[Config(typeof(Config))]
public class ConvBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn());
    }

    public static IEnumerable<ConvCase> Cases() =>
    [
        new("vgg16 64ch 32x32", 64, 64, 32, 64, 3, 1, 1),
        new("vgg16 256ch 8x8", 64, 256, 8, 256, 3, 1, 1),
        new("vgg16 512ch 2x2", 64, 512, 2, 512, 3, 1, 1),
        new("resnet20 16ch 32x32", 64, 16, 32, 16, 3, 1, 1),
        new("resnet20 64ch 8x8", 64, 64, 8, 64, 3, 1, 1),
        new("resnet20 32->64 s2", 64, 32, 16, 64, 3, 2, 1),
    ];

    [ParamsSource(nameof(Cases))] public ConvCase Case { get; set; } = null!;
    [Params(true, false)] public bool Winograd { get; set; }

    private Tensor _x = null!, _w = null!, _y = null!, _dx = null!, _dw = null!;
    private Conv2dGeometry _g;

    [GlobalSetup]
    public void Setup()
    {
        _g = Case.Geometry;
        CpuBackend.WinogradEnabled = Winograd;
        var rng = new Random(1);
        _x = Tensor.FromArray(GemmBenchmarks.Random(rng, _g.InputShape.Numel), _g.InputShape);
        _w = Tensor.FromArray(GemmBenchmarks.Random(rng, _g.WeightShape.Numel), _g.WeightShape);
        _y = Tensor.FromArray(GemmBenchmarks.Random(rng, _g.OutputShape.Numel), _g.OutputShape);
        _dx = Tensor.Zeros(_g.InputShape);
        _dw = Tensor.Zeros(_g.WeightShape);
    }

    [Benchmark] public void Forward() => Backends.Cpu.Conv2dForward(_x, _w, null, _y, _g);
    [Benchmark] public void BackwardData() => Backends.Cpu.Conv2dBackwardData(_y, _w, _dx, _g);
    [Benchmark] public void BackwardWeight() => Backends.Cpu.Conv2dBackwardWeight(_x, _y, _dw, null, _g);

    [GlobalCleanup]
    public void Cleanup() { _x.Dispose(); _w.Dispose(); _y.Dispose(); _dx.Dispose(); _dw.Dispose(); CpuBackend.WinogradEnabled = true; }
}
