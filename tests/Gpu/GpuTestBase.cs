using NUnit.Framework;
using SpikeEngine.Backend;
using SpikeEngine.Backend.Cpu;
using SpikeEngine.Backend.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// Base of the [Category("Gpu")] fixtures: skips every test with the reason when CUDA cannot be used
/// here (no driver, no device, kernels not built), and offers the CPU reference backend, the CUDA
/// backend and helpers to put the same data on both and compare results.
/// </summary>
[Category("Gpu")]
public abstract class GpuTestBase
{
    protected static readonly Device Gpu = Device.Cuda(0);
    protected static CpuBackend Cpu => Backends.Cpu;
    protected CudaBackend Cuda { get; private set; } = null!;

    [OneTimeSetUp]
    public void RequireCuda()
    {
        var reason = CudaBackend.UnavailableReason();
        if (reason is not null) Assert.Ignore("CUDA unavailable: " + reason);
        Cuda = (CudaBackend)Backends.For(Gpu);
    }

    protected static float[] Random(Random rng, int n, float lo = -1f, float hi = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (float)rng.NextDouble() * (hi - lo);
        return a;
    }

    /// <summary>Values k/denominator with integer k in [lo, hi]: sums and products of a few of them are exact in float32, whatever the order.</summary>
    protected static float[] Dyadic(Random rng, int n, int lo, int hi, int denominator)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.Next(lo, hi + 1) / (float)denominator;
        return a;
    }

    /// <summary>The same host data as a CPU tensor and a GPU tensor.</summary>
    protected (Tensor Cpu, Tensor Gpu) Both(float[] data, Shape shape)
        => (Tensor.FromArray(data, shape), Tensor.FromArray(data, shape, Gpu));

    protected (Tensor Cpu, Tensor Gpu) BothRandom(Random rng, Shape shape, float lo = -1f, float hi = 1f)
        => Both(Random(rng, shape.Numel, lo, hi), shape);

    /// <summary>|gpu − cpu| ≤ atol + rtol·|cpu| element by element; the message names the first failures.</summary>
    protected static void AssertClose(Tensor expectedCpu, Tensor actualGpu, float atol, float rtol, string what)
        => AssertClose(expectedCpu.ToArray(), actualGpu.ToArray(), atol, rtol, what);

    protected static void AssertClose(float[] expected, float[] actual, float atol, float rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        int bad = 0; var first = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            bool ok = float.IsNaN(e) ? float.IsNaN(a) : Math.Abs(a - e) <= atol + rtol * Math.Abs(e);
            if (!ok && bad++ < 5) first.Add($"[{i}] cpu {e:R} gpu {a:R}");
        }
        Assert.That(bad, Is.EqualTo(0), $"{what}: {bad} of {expected.Length} elements differ beyond atol {atol}, rtol {rtol}: {string.Join("; ", first)}");
    }

    protected static void AssertExact(Tensor expectedCpu, Tensor actualGpu, string what)
        => AssertClose(expectedCpu.ToArray(), actualGpu.ToArray(), 0f, 0f, what);
}
