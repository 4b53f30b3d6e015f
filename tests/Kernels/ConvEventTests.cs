using SpikeEngine.Backend.Cpu;
using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// The event-driven forward convolution (sparse samples gather, or scatter, the weights of their non-zero inputs) against
/// <see cref="ReferenceOps.Conv2d"/>: spike-like inputs (0 or θ) and sparse analog ones, strides 1 and 2,
/// 1×1, padding, odd sizes, several channel and weight blocks, batches that mix sparse and dense samples, 1 and 2
/// threads. Sparse samples must take the event path for kernels up to 3×3 (spike-like ones, and those whose non-zeros
/// take at most four values — pooled spikes, QCFS outputs —, the gather form; analog ones, whose values differ, the
/// scatter form); 5×5 kernels fall back to the dense path, with the same results.
/// </summary>
[NonParallelizable]
public class ConvEventTests
{
    private CpuBackend.EventChoice _saved;

    // Every sample under EventMaxDensity takes the event path, whatever the cost model would choose.
    [SetUp] public void ByDensity() { _saved = CpuBackend.EventPath; CpuBackend.EventPath = CpuBackend.EventChoice.ByDensity; }
    [TearDown] public void Restore() => CpuBackend.EventPath = _saved;

    // N, C, H, W, K, R, S, stride, pad
    private static readonly int[][] Cases =
    [
        [4, 16, 32, 32, 16, 3, 3, 1, 1],   // ResNet-20 stage 1
        [3, 16, 32, 32, 32, 3, 3, 2, 1],   // stride 2 into stage 2
        [3, 16, 32, 32, 32, 1, 1, 2, 0],   // 1×1 stride-2 shortcut
        [2, 64, 8, 8, 64, 3, 3, 1, 1],     // stage 3
        [3, 5, 13, 11, 7, 3, 3, 1, 1],     // odd sizes, K not a multiple of 16
        [2, 6, 14, 19, 20, 5, 5, 2, 2],    // 5×5 stride 2, K over one vector
        [5, 3, 7, 7, 4, 3, 3, 1, 0],       // no padding
        [7, 8, 6, 6, 20, 3, 3, 2, 1],      // im2col path: dense samples 0, 3 and 6 in one GEMM chunk
        [4, 300, 6, 6, 70, 3, 3, 1, 1],    // 3 channel blocks of 128 (running sums between them), 3 weight blocks, the last ones partial
        [5, 40, 2, 2, 48, 3, 3, 1, 1],     // 2×2 planes (VGG-16's last stage): rows narrower than a vector
        [4, 128, 6, 16, 128, 3, 3, 1, 1],  // a Winograd layer: dense samples 0 and 3 go by Winograd after the sparse ones
        [3, 140, 5, 5, 136, 3, 3, 1, 1],   // 64-channel weight blocks (K ≥ 128), the last partial; 3 channel blocks of 64
    ];

    /// <summary>The non-zero inputs: one value (spikes), four (θ/4 … θ: pooled spikes, QCFS with L = 4), or all different.</summary>
    public enum Inputs { Spikes, Levels, Analog }

    private static IEnumerable<TestCaseData> Geometries()
    {
        foreach (var c in Cases)
        foreach (var inputs in Enum.GetValues<Inputs>())
            yield return new TestCaseData(new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[7], c[8], c[8]), inputs)
                .SetArgDisplayNames($"N{c[0]}C{c[1]}{c[2]}x{c[3]}K{c[4]}k{c[5]}s{c[7]}p{c[8]} {inputs.ToString().ToLowerInvariant()}");
    }

    [TestCaseSource(nameof(Geometries))]
    public void SparseAndMixedBatchesMatchReference(Conv2dGeometry g, Inputs inputs)
    {
        var rng = new Random(21);
        int inSize = g.C * g.H * g.W;
        var x = new float[g.InputShape.Numel];
        // samples 0, 3, 6, … dense (dense path), the others sparse at 2 %, 8 %, 15 %, ... of non-zero inputs
        for (int n = 0; n < g.N; n++)
        {
            double rate = n % 3 == 0 ? 0.9 : Math.Min(0.02 + 0.06 * (n - 1), CpuBackend.EventMaxDensity * 0.8);
            for (int i = 0; i < inSize; i++)
                if (rng.NextDouble() < rate)
                    x[n * inSize + i] = inputs switch
                    {
                        Inputs.Spikes => 0.75f,
                        Inputs.Levels => 0.3f * rng.Next(1, 5),
                        _ => (float)(rng.NextDouble() * 2 - 1),
                    };
        }
        float[] w = Uniform(rng, g.WeightShape.Numel), b = Uniform(rng, g.K);
        var expected = ReferenceOps.Conv2d(D(x), D(w), D(b), g);
        // the event path needs AVX-512 (the CI's AVX2 and portable runs take the dense path throughout)
        bool eventsExpected = g.R <= 3 && g.S <= 3 && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        foreach (int threads in new[] { 1, 2 })
        foreach (bool allSparse in new[] { false, true })
        {
            long before = CpuBackend.EventSamples, gatheredBefore = CpuBackend.GatherSamples;
            var input = (float[])x.Clone();
            if (allSparse)   // the dense samples all zero: every sample sparse
                for (int n = 0; n < g.N; n += 3) input.AsSpan(n * inSize, inSize).Clear();
            var want = allSparse ? ReferenceOps.Conv2d(D(input), D(w), D(b), g) : expected;
            using var tx = T(input, g.N, g.C, g.H, g.W); using var tw = T(w, g.K, g.C, g.R, g.S); using var tb = T(b, g.K);
            using var ty = T(Enumerable.Repeat(float.NaN, g.OutputShape.Numel).ToArray(), g.N, g.K, g.OutH, g.OutW);
            Cpu(threads).Conv2dForward(tx, tw, tb, ty, g);
            AssertClose(ty.Span, want, 1e-4, 1e-5 * Math.Sqrt(g.C * g.R * g.S), $"threads={threads} all sparse={allSparse}");
            long taken = CpuBackend.EventSamples - before, gathered = CpuBackend.GatherSamples - gatheredBefore;
            // spikes and four levels gather, analog values (which differ) scatter; kernels over 3×3 stay dense
            Assert.That(taken, Is.EqualTo(eventsExpected ? allSparse ? g.N : g.N - (g.N + 2) / 3 : 0), "the sparse samples took the event path");
            // (an analog sample gathers too when it has at most four non-zeros, or none)
            int fewValues = Enumerable.Range(0, g.N).Count(n => (allSparse || n % 3 != 0)
                && input.AsSpan(n * inSize, inSize).ToArray().Where(v => v != 0f).Distinct().Count() <= CpuBackend.MaxEventLevels);
            Assert.That(gathered, Is.EqualTo(!eventsExpected ? 0 : inputs == Inputs.Analog ? fewValues : taken),
                "the samples of at most four values gathered, the others scattered");
            if (inputs == Inputs.Analog && eventsExpected) Assert.That(gathered, Is.LessThan(taken), "some analog samples scattered");
        }
    }

    /// <summary>
    /// The table form (CpuBackend.ConvEventsTable.cs) for every spike sample, whatever its density: samples of two spike
    /// values in one batch (two tables), dense and sparse ones, an all-zero one (no value: it gathers), against the
    /// reference loop, with 1 and 2 threads.
    /// </summary>
    [TestCaseSource(nameof(SpikeGeometries))]
    public void SpikeSamplesByTablesMatchReference(Conv2dGeometry g)
    {
        CpuBackend.EventPath = CpuBackend.EventChoice.Tables;
        var rng = new Random(5);
        int inSize = g.C * g.H * g.W;
        var x = new float[g.InputShape.Numel];
        for (int n = 1; n < g.N; n++)   // sample 0 all zero
        {
            double rate = new[] { 0.9, 0.02, 0.15, 0.4 }[n % 4];
            float value = n % 2 == 0 ? 0.75f : 0.5f;
            for (int i = 0; i < inSize; i++)
                if (rng.NextDouble() < rate) x[n * inSize + i] = value;
        }
        float[] w = Uniform(rng, g.WeightShape.Numel), b = Uniform(rng, g.K);
        var expected = ReferenceOps.Conv2d(D(x), D(w), D(b), g);
        bool eventsExpected = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        foreach (int threads in new[] { 1, 2 })
        {
            long before = CpuBackend.TableSamples, eventsBefore = CpuBackend.EventSamples;
            using var tx = T(x, g.N, g.C, g.H, g.W); using var tw = T(w, g.K, g.C, g.R, g.S); using var tb = T(b, g.K);
            using var ty = T(Enumerable.Repeat(float.NaN, g.OutputShape.Numel).ToArray(), g.N, g.K, g.OutH, g.OutW);
            Cpu(threads).Conv2dForward(tx, tw, tb, ty, g);
            AssertClose(ty.Span, expected, 1e-4, 1e-5 * Math.Sqrt(g.C * g.R * g.S), $"threads={threads}");
            Assert.That(CpuBackend.TableSamples - before, Is.EqualTo(eventsExpected ? g.N - 1 : 0), "every spike sample took the table form");
            Assert.That(CpuBackend.EventSamples - eventsBefore, Is.EqualTo(eventsExpected ? g.N : 0), "the all-zero sample gathered");
        }
    }

    private static IEnumerable<TestCaseData> SpikeGeometries()
        => Cases.Where(c => c[5] <= 3 && c[6] <= 3).Select(c => new TestCaseData(new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[7], c[8], c[8]))
            .SetArgDisplayNames($"N{c[0]}C{c[1]}{c[2]}x{c[3]}K{c[4]}k{c[5]}s{c[7]}p{c[8]}"));
}
