using SpikeEngine.Backend.Cpu;
using SpikeEngine.Backend.Cuda;
using SpikeEngine.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// Base of the [Category("Gpu")] fixtures: they run on a GPU, or on the emulated device with
/// SPIKEENGINE_CUDA=emulator (kernels/README.md, "The emulated device"), and skip every test with the
/// reason when neither can be used here (no driver, no device, emulator or kernels not built). Offers
/// the CPU reference backend, the CUDA backend and helpers to put the same data on both and compare results.
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
        if (reason is not null)
            Assert.Ignore("CUDA unavailable: " + reason + (CudaLibraries.EmulatorSelected ? "" : $" (set {CudaLibraries.ModeVariable}=emulator to run these tests on the CPU)"));
        Cuda = (CudaBackend)Backends.For(Gpu);
    }

    /// <summary>Whether the tests run on the emulated device (kernels compiled for the CPU) rather than a GPU.</summary>
    protected bool Emulated => Cuda.Context.IsEmulated;

    /// <summary>Skips a cuDNN-specific test with the reason cuDNN is missing ("cuDNN absent (emulator)" on the emulator).</summary>
    protected void RequireCudnn()
    {
        if (Cuda.CudnnUnavailableReason is { } why) Assert.Ignore(why);
    }

    /// <summary>
    /// Converts <paramref name="ann"/> into a spiking network whose arithmetic is exact in float32 whatever the
    /// summation order (so CPU and GPU spike trains must be equal, not close): QCFS thresholds λ are set to k/4,
    /// then every folded weight and bias is rounded to a multiple of 1/64. Inputs should be dyadic too
    /// (<see cref="DyadicImages"/>). Both networks of a comparison get the same values from the same seed.
    /// </summary>
    protected static SpikingNetwork DyadicSnn(Module ann, int seed)
    {
        var rng = new Random(seed);
        foreach (var (_, m) in ann.NamedModules())
            if (m is Qcfs q) SetAll(q.Up, _ => rng.Next(4, 11) / 4f);
        var snn = SpikingNetwork.Convert(ann);
        foreach (var (_, t) in snn.StateDict()) SetAll(t, v => MathF.Round(v * 64f) / 64f);
        return snn;
    }

    /// <summary>Images with values k/16 in [−1.5, 2.5] (exact products with the weights of <see cref="DyadicSnn"/>).</summary>
    protected static Tensor DyadicImages(int batch, int channels, int size, int seed)
        => Tensor.FromArray(Dyadic(new Random(seed), batch * channels * size * size, -24, 40, 16), new Shape(batch, channels, size, size));

    private static void SetAll(Tensor t, Func<float, float> f)
    {
        var a = t.ToArray();
        for (int i = 0; i < a.Length; i++) a[i] = f(a[i]);
        t.Backend.CopyFromHost(a, t);
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
