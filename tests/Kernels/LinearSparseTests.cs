using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// The fully connected forward on spike-like inputs whose features are silent in every row (the backend then
/// multiplies only the active columns) against <see cref="ReferenceOps.Linear"/>: several shares of active
/// features (including none and nearly all), with and without bias, 1 and 2 threads.
/// </summary>
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
        float[] w = Uniform(rng, outF * inF), b = Uniform(rng, outF);
        foreach (int threads in new[] { 1, 2 })
        foreach (bool withBias in new[] { false, true })
        {
            using var tx = T(x, n, inF); using var tw = T(w, outF, inF); using var tb = T(b, outF);
            using var ty = T(Enumerable.Repeat(float.NaN, n * outF).ToArray(), n, outF);
            Cpu(threads).LinearForward(tx, tw, withBias ? tb : null, ty);
            AssertClose(ty.Span, ReferenceOps.Linear(D(x), D(w), withBias ? D(b) : null, n, inF, outF), 1e-4, 1e-5 * Math.Sqrt(inF),
                $"linear active share {activeShare} threads={threads} bias={withBias}");
        }
    }
}
