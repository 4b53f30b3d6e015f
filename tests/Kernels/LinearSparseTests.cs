using SpikeEngine.Backend.Cpu;
using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// The fully connected forward on sparse inputs against <see cref="ReferenceOps.Linear"/>: spike-like inputs whose
/// features are silent in every row (the cost model then multiplies only the active columns), and, with the event
/// path forced, rows listed one by one (spikes, several values and signs, empty rows, a NaN), input counts that are
/// not whole vectors, output counts under one vector, between blocks and over several blocks, with and without bias,
/// 1 and 2 threads.
/// </summary>
[NonParallelizable]
public class LinearSparseTests
{
    [TestCase(128, 512, 40, 0.0)]
    [TestCase(128, 512, 40, 0.05)]
    [TestCase(16, 300, 70, 0.3)]
    [TestCase(9, 130, 17, 0.7)]
    [TestCase(8, 200, 33, 0.95)]
    [TestCase(2, 64, 5, 0.5)]
    public void SilentFeaturesMatchReference(int n, int inF, int outF, double activeShare)
    {
        var rng = new Random(n + inF);
        var activeFeature = new bool[inF];
        for (int i = 0; i < inF; i++) activeFeature[i] = rng.NextDouble() < activeShare;
        var x = new float[n * inF];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < inF; i++)
                if (activeFeature[i] && rng.NextDouble() < 0.3) x[r * inF + i] = 0.6f;
        AssertMatchesReference(x, n, inF, outF, rng, $"linear active share {activeShare}");
    }

    /// <summary>The non-zero inputs: one value (spikes behind an IF layer), or values of both signs that all differ.</summary>
    public enum Inputs { Spikes, Analog }

    [TestCase(128, 512, 40, 0.15, Inputs.Spikes)]     // two blocks of 32 outputs, the second partial
    [TestCase(128, 512, 40, 0.15, Inputs.Analog)]
    [TestCase(16, 300, 70, 0.3, Inputs.Analog)]        // inputs not a multiple of 16: the scalar tail of the lists
    [TestCase(9, 130, 17, 0.45, Inputs.Spikes)]        // 17 outputs: one block of 32 with 15 padded
    [TestCase(6, 64, 16, 0.1, Inputs.Spikes)]          // 16 outputs: one-vector blocks, whole
    [TestCase(5, 100, 5, 0.2, Inputs.Analog)]          // 5 outputs: one partial vector, rows split between threads
    [TestCase(3, 96, 96, 0.0, Inputs.Spikes)]          // every row empty: the bias alone
    [TestCase(40, 4096, 10, 0.15, Inputs.Spikes)]      // VGG-16's last layer
    public void EventsMatchReference(int n, int inF, int outF, double density, Inputs inputs)
    {
        var rng = new Random(7 * n + outF);
        var x = new float[n * inF];
        for (int r = 0; r < n; r++)
        {
            double rowDensity = r % 4 == 3 ? 0 : density;   // every fourth row empty
            for (int i = 0; i < inF; i++)
                if (rng.NextDouble() < rowDensity) x[r * inF + i] = inputs == Inputs.Spikes ? 0.6f : (float)(rng.NextDouble() * 2 - 1);
        }
        AssertByEvents(x, n, inF, outF, rng, $"events {inputs.ToString().ToLowerInvariant()} density {density}");
    }

    [Test]
    public void EventsCarryNaNToItsRowOnly()
    {
        int n = 4, inF = 80, outF = 36;
        var rng = new Random(3);
        var x = new float[n * inF];
        for (int i = 0; i < x.Length; i++) if (rng.NextDouble() < 0.2) x[i] = 0.6f;
        x[2 * inF + 71] = float.NaN;   // in the scalar tail of row 2's list
        x[1 * inF + 5] = float.NaN;    // in a vector of row 1
        var y = AssertByEvents(x, n, inF, outF, rng, "events with NaN inputs");
        for (int r = 0; r < n; r++)
            for (int o = 0; o < outF; o++)
                Assert.That(float.IsNaN(y[r * outF + o]), Is.EqualTo(r is 1 or 2), $"row {r} output {o}: {y[r * outF + o]}");
    }

    /// <summary>Runs every case with the event path forced and checks that it was taken; returns the last output.</summary>
    private static float[] AssertByEvents(float[] x, int n, int inF, int outF, Random rng, string what)
    {
        var saved = CpuBackend.EventPath;
        CpuBackend.EventPath = CpuBackend.EventChoice.ByDensity;
        try
        {
            long before = CpuBackend.LinearEventCalls;
            var y = AssertMatchesReference(x, n, inF, outF, rng, what);
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)   // the event path needs AVX-512
                Assert.That(CpuBackend.LinearEventCalls - before, Is.EqualTo(4), $"{what}: not every call took the event path");
            return y;
        }
        finally { CpuBackend.EventPath = saved; }
    }

    /// <summary>1 and 2 threads, with and without bias; returns the last output.</summary>
    private static float[] AssertMatchesReference(float[] x, int n, int inF, int outF, Random rng, string what)
    {
        float[] w = Uniform(rng, outF * inF), b = Uniform(rng, outF), result = [];
        foreach (int threads in new[] { 1, 2 })
        foreach (bool withBias in new[] { false, true })
        {
            using var tx = T(x, n, inF); using var tw = T(w, outF, inF); using var tb = T(b, outF);
            using var ty = T(Enumerable.Repeat(float.NaN, n * outF).ToArray(), n, outF);
            Cpu(threads).LinearForward(tx, tw, withBias ? tb : null, ty);
            AssertClose(ty.Span, ReferenceOps.Linear(D(x), D(w), withBias ? D(b) : null, n, inF, outF), 1e-4, 1e-5 * Math.Sqrt(inF),
                $"{what} threads={threads} bias={withBias}");
            result = ty.ToArray();
        }
        return result;
    }
}
