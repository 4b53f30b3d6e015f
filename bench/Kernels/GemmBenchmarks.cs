using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Kernels;

// Run: dotnet run -c Release --project bench -- --filter '*GemmBenchmarks*' --job short
// PyTorch peer at the same shapes: /usr/bin/python3 tools/peers/gemm_torch.py

public sealed record GemmCase(int M, int N, int K, bool TransA, bool TransB) : IFlopCase
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => $"{M}x{N}x{K}{(TransA ? " At" : "")}{(TransB ? " Bt" : "")}";
}

[Config(typeof(Config))]
public class GemmBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn());
    }

    public static IEnumerable<GemmCase> Cases() =>
    [
        new(1024, 1024, 1024, false, false),
        new(256, 4096, 1152, false, false),
        new(64, 16384, 576, false, false),
        new(1024, 1024, 1024, true, false),
        new(1024, 1024, 1024, false, true),
    ];

    [ParamsSource(nameof(Cases))] public GemmCase Case { get; set; } = null!;

    private Tensor _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = Tensor.FromArray(Random(rng, Case.M * Case.K), new Shape(Case.M * Case.K));
        _b = Tensor.FromArray(Random(rng, Case.K * Case.N), new Shape(Case.K * Case.N));
        _c = Tensor.Zeros(new Shape(Case.M * Case.N));
    }

    internal static float[] Random(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    [Benchmark]
    public void Gemm()
    {
        var c = Case;
        Backends.Cpu.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, 1f, _a, 0, c.TransA ? c.M : c.K, _b, 0, c.TransB ? c.K : c.N, 0f, _c, 0, c.N);
    }

    [GlobalCleanup]
    public void Cleanup() { _a.Dispose(); _b.Dispose(); _c.Dispose(); }
}
