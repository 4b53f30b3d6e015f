using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Training;

/// <summary>
/// Training-mode BatchNorm + QCFS forward and backward on ResNet-20's largest activation (batch 64, 16 channels,
/// 32×32), fused (F.BatchNormQcfs) against the two operations it replaces. Memory-bound: the fused form never writes
/// or reads the BN output.
/// Run: dotnet run -c Release --project bench -- --filter '*NormQcfs*'
/// </summary>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class NormQcfsBenchmark
{
    [Params(1, 2)]
    public int Threads { get; set; } = 2;

    private Tensor _x = null!, _gamma = null!, _beta = null!, _mean = null!, _var = null!, _up = null!, _probe = null!;

    [GlobalSetup]
    public void Setup()
    {
        SpikeEngine.Backend.Backends.Cpu.Threads = Threads;
        var rng = new Random(1);
        Tensor Random(Shape s, float scale) => Tensor.FromArray(Enumerable.Range(0, s.Numel).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray(), s);
        _x = Random(new Shape(64, 16, 32, 32), 3f);
        _x.RequiresGrad = true;
        _gamma = Tensor.Full(new Shape(16), 1f); _gamma.RequiresGrad = true;
        _beta = Tensor.Zeros(new Shape(16)); _beta.RequiresGrad = true;
        _mean = Tensor.Zeros(new Shape(16));
        _var = Tensor.Full(new Shape(16), 1f);
        _up = Tensor.Full(new Shape(1), 2f); _up.RequiresGrad = true;
        _probe = Random(new Shape(64, 16, 32, 32), 1f);
    }

    [Benchmark(Baseline = true)]
    public void Separate() => Step(false);

    [Benchmark]
    public void Fused() => Step(true);

    private void Step(bool fused)
    {
        bool saved = F.FuseNormQcfs;
        F.FuseNormQcfs = fused;
        try
        {
            var y = F.BatchNormQcfs(_x, _gamma, _beta, _mean, _var, 0.1f, 1e-5f, _up, 4);
            y.GradFn!.Backward(_probe);
            // separate: the BN output's node propagates what QCFS gave it
            if (y.GradFn.Inputs[0] is { GradFn: { } bn, Grad: { } dz }) bn.Backward(dz);
            Grad.ReleaseGraph(y);
            foreach (var t in new[] { _x, _gamma, _beta, _up }) { t.Grad?.Dispose(); t.Grad = null; }
        }
        finally { F.FuseNormQcfs = saved; }
    }
}
