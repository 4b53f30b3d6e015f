using System.Reflection;
using SpikeEngine.Backend.Cpu;
using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class GemmTests
{
    private static IEnumerable<TestCaseData> Shapes()
    {
        int[][] mnk =
        [
            [1, 1, 1], [1, 7, 3], [5, 1, 9], [3, 5, 1], [7, 13, 11], [16, 16, 16], [17, 33, 65], [31, 9, 128],
            [64, 48, 1], [100, 37, 61], [13, 257, 5], [129, 67, 300], [48, 96, 40], [33, 200, 257], [6, 16, 513],
        ];
        foreach (var s in mnk)
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            yield return new TestCaseData(s[0], s[1], s[2], ta, tb).SetArgDisplayNames($"{s[0]}x{s[1]}x{s[2]}", ta ? "At" : "A", tb ? "Bt" : "B");
    }

    [TestCaseSource(nameof(Shapes))]
    public void MatchesNaiveLoop(int m, int n, int k, bool transA, bool transB)
        => CheckGemm(m, n, k, transA, transB, alpha: 1f, beta: 0f, pad: 0, threads: 2, seed: m * 1000 + n * 10 + k);

    [TestCase(1.5f, 0.5f, 3, 2)]
    [TestCase(-0.75f, 1f, 5, 1)]
    [TestCase(2f, -2f, 1, 2)]
    [TestCase(0f, 0.25f, 2, 2)]
    public void HonoursAlphaBetaOffsetsAndLeadingDims(float alpha, float beta, int pad, int threads)
    {
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            CheckGemm(37, 29, 53, ta, tb, alpha, beta, pad, threads, seed: 11);
            CheckGemm(130, 70, 190, ta, tb, alpha, beta, pad, threads, seed: 12);
        }
    }

    [Test]
    public void BetaZeroIgnoresNaNInC()
    {
        foreach (var (ta, tb) in new[] { (false, false), (true, true) })
            CheckGemm(40, 50, 60, ta, tb, 1f, 0f, 1, 2, seed: 5, fillC: float.NaN);
    }

    [Test]
    public void SingleAndMultiThreadedAgree()
    {
        var rng = new Random(3);
        int m = 150, n = 140, k = 170;
        var a = Uniform(rng, m * k); var b = Uniform(rng, k * n);
        using var ta = T(a, m, k); using var tb = T(b, k, n);
        using var c1 = T(new float[m * n], m, n); using var c2 = T(new float[m * n], m, n);
        Cpu(1).Gemm(false, false, m, n, k, 1f, ta, 0, k, tb, 0, n, 0f, c1, 0, n);
        Cpu(2).Gemm(false, false, m, n, k, 1f, ta, 0, k, tb, 0, n, 0f, c2, 0, n);
        AssertClose(c1.Span, D(c2.ToArray()), 1e-5, 1e-5, "threads 1 vs 2");
    }

    /// <summary>
    /// A block size of CpuBackend.Gemm.cs (Mc, Kc, Nc: the cache blocks; Mr, Nr: the micro-tile of the kernel
    /// chosen on this machine), read from the code so that the boundary cases follow a retuning.
    /// </summary>
    private static int Blocking(string name)
    {
        var field = typeof(CpuBackend).GetField(name, BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException($"CpuBackend has no static field {name}: the GEMM blocking was renamed; update {nameof(GemmTests)}.{nameof(BlockingBoundaries)}.");
        return (int)field.GetValue(null)!;
    }

    private static IEnumerable<TestCaseData> BlockingBoundaries()
    {
        int mc = Blocking("Mc"), kc = Blocking("Kc"), nc = Blocking("Nc"), mr = Blocking("Mr"), nr = Blocking("Nr");
        // Each dimension just below, at and just above its block (and two blocks plus a partial micro-tile),
        // mostly with partial micro-tiles at the edges. With 2 threads the larger side of C is split in two,
        // so the cases with m > 2·Mc or n > 2·Nc still cross the block inside each thread's half.
        (string What, int M, int N, int K)[] shapes =
        [
            ("micro-tile edges", mr + 1, nr - 1, 7),
            ("micro-tile edges", mr - 1, nr + 1, 9),
            ("Mc-1 Kc-1", mc - 1, nr + 1, kc - 1),
            ("Mc Kc", mc, 2 * nr, kc),
            ("Mc+1 Kc+1", mc + 1, nr + 3, kc + 1),
            ("2Mc+Mr+1 2Kc+1", 2 * mc + mr + 1, nr - 1, 2 * kc + 1),
            ("Nc-1", mr - 1, nc - 1, 5),
            ("Nc Kc", mr, nc, kc),
            ("Nc+1 Kc+1", mr + 1, nc + 1, kc + 1),
            ("2Nc+Nr+1", 2 * mr + 1, 2 * nc + nr + 1, kc + 3),
            ("Mc+Mr+1 Nc+Nr+1 Kc+1", mc + mr + 1, nc + nr + 1, kc + 1),
        ];
        foreach (var (what, m, n, k) in shapes)
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
        foreach (int threads in new[] { 1, 2 })
            yield return new TestCaseData(m, n, k, ta, tb, threads)
                .SetArgDisplayNames(what, $"{m}x{n}x{k}", ta ? "At" : "A", tb ? "Bt" : "B", $"{threads} threads");
    }

    /// <summary>Values across the cache blocks and micro-tile edges, α ≠ 1 and β ∉ {0, 1} (β applies to the first K block only).</summary>
    [TestCaseSource(nameof(BlockingBoundaries))]
    public void MatchesNaiveLoopAcrossBlockingBoundaries(int m, int n, int k, bool transA, bool transB, int threads)
        => CheckGemm(m, n, k, transA, transB, alpha: 0.75f, beta: -0.5f, pad: 1, threads, seed: m * 7 + n * 3 + k);

    /// <summary>
    /// A packed once beforehand (as a convolution packs its weights for all its chunks): the naive loop's values, and
    /// bit for bit the product that packs A itself (the same panels, the same micro-kernel), on one thread and split
    /// along M or N on two.
    /// </summary>
    [TestCaseSource(nameof(BlockingBoundaries))]
    public void PrepackedAMatchesNaiveLoopAndPackingInside(int m, int n, int k, bool transA, bool transB, int threads)
    {
        CheckGemm(m, n, k, transA, transB, alpha: 0.75f, beta: -0.5f, pad: 1, threads, seed: m * 7 + n * 3 + k, prepackA: true);
        var rng = new Random(m + n + k);
        var a = Uniform(rng, m * k);
        var b = Uniform(rng, k * n);
        var inside = new float[m * n];
        var cpu = Cpu(threads);
        int lda = transA ? m : k, ldb = transB ? k : n;
        cpu.GemmArrays(transA, transB, m, n, k, 1.25f, a, 0, lda, b, 0, ldb, 0f, inside, 0, n, threads);
        var prepacked = new float[m * n];
        using (var packed = cpu.PackGemmA(transA, m, k, 1.25f, a, 0, lda))
            cpu.GemmArrays(packed, transB, n, b, 0, ldb, 0f, prepacked, 0, n, threads);
        Assert.That(prepacked, Is.EqualTo(inside), $"gemm {m}x{n}x{k} tA={transA} tB={transB}: prepacked A differs from packing inside");
    }

    /// <summary>Runs one GEMM whose operands sit inside larger buffers (offset, ld = cols + pad) and compares with the naive loop.</summary>
    private static void CheckGemm(int m, int n, int k, bool transA, bool transB, float alpha, float beta, int pad, int threads, int seed, float? fillC = null,
        bool prepackA = false)
    {
        var rng = new Random(seed);
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        int aOff = pad * 3, bOff = pad * 5, cOff = pad * 7;
        var a = Uniform(rng, aOff + aRows * lda);
        var b = Uniform(rng, bOff + bRows * ldb);
        var c = Uniform(rng, cOff + m * ldc);
        if (fillC is float f) Array.Fill(c, f);
        var expected = D(c);
        ReferenceOps.Gemm(transA, transB, m, n, k, alpha, D(a), aOff, lda, D(b), bOff, ldb, beta, expected, cOff, ldc);
        using var ta = T(a, a.Length); using var tb = T(b, b.Length); using var tc = T(c, c.Length);
        string what = $"gemm {m}x{n}x{k} tA={transA} tB={transB} α={alpha} β={beta} pad={pad}";
        if (prepackA)
        {
            var cpu = Cpu(threads);
            var result = (float[])c.Clone();
            using (var packed = cpu.PackGemmA(transA, m, k, alpha, a, aOff, lda))
                cpu.GemmArrays(packed, transB, n, b, bOff, ldb, beta, result, cOff, ldc, threads);
            AssertClose(result, expected, 1e-4, 2e-5 * Math.Sqrt(k) * Math.Max(1, Math.Abs(alpha)), what + " (A prepacked)");
            return;
        }
        Cpu(threads).Gemm(transA, transB, m, n, k, alpha, ta, aOff, lda, tb, bOff, ldb, beta, tc, cOff, ldc);
        // Entries of C outside the m×n window (padding, offset) must be untouched: expected keeps them as they were.
        AssertClose(tc.Span, expected, 1e-4, 2e-5 * Math.Sqrt(k) * Math.Max(1, Math.Abs(alpha)), what);
    }
}
