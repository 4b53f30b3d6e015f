namespace SpikeEngine.Tests.Gpu;

/// <summary>BatchNorm training, inference and backward: CUDA against the CPU backend.</summary>
public class CudaNormTests : GpuTestBase
{
    private const float Atol = 1e-4f, Rtol = 1e-4f;

    private static readonly int[][] NormShapes = [[8, 5], [4, 3, 7, 9], [32, 16, 8, 8], [2, 64, 1, 1]];

    [TestCaseSource(nameof(NormShapes))]
    public void BatchNormTrainingInferenceAndBackwardMatchCpu(int[] dims)
    {
        var shape = new Shape(dims);
        int c = dims[1];
        var rng = new Random(dims.Sum());
        var (x, gx) = BothRandom(rng, shape, -2f, 3f);
        var (gamma, ggamma) = BothRandom(rng, new Shape(c), 0.5f, 1.5f);
        var (beta, gbeta) = BothRandom(rng, new Shape(c));
        var (rm, grm) = BothRandom(rng, new Shape(c));
        var (rv, grv) = BothRandom(rng, new Shape(c), 0.5f, 2f);
        using var y = Cpu.Empty(shape); using var gy = Cuda.Empty(shape);
        using var sm = Cpu.Empty(new Shape(c)); using var gsm = Cuda.Empty(new Shape(c));
        using var si = Cpu.Empty(new Shape(c)); using var gsi = Cuda.Empty(new Shape(c));
        Cpu.BatchNormForwardTraining(x, gamma, beta, rm, rv, 0.1f, 1e-5f, y, sm, si);
        Cuda.BatchNormForwardTraining(gx, ggamma, gbeta, grm, grv, 0.1f, 1e-5f, gy, gsm, gsi);
        AssertClose(y, gy, Atol, Rtol, "training y");
        AssertClose(sm, gsm, Atol, Rtol, "saved mean");
        AssertClose(si, gsi, Atol, Rtol, "saved 1/std");
        AssertClose(rm, grm, Atol, Rtol, "running mean");
        AssertClose(rv, grv, Atol, Rtol, "running var (unbiased)");

        Cpu.BatchNormForwardInference(x, gamma, beta, rm, rv, 1e-5f, y);
        Cuda.BatchNormForwardInference(gx, ggamma, gbeta, grm, grv, 1e-5f, gy);
        AssertClose(y, gy, Atol, Rtol, "inference y");

        var (dy, gdy) = BothRandom(rng, shape);
        using var dx = Cpu.Empty(shape); using var gdx = Cuda.Empty(shape);
        using var dg = Cpu.Empty(new Shape(c)); using var gdg = Cuda.Empty(new Shape(c));
        using var db = Cpu.Empty(new Shape(c)); using var gdb = Cuda.Empty(new Shape(c));
        Cpu.BatchNormBackward(dy, x, gamma, sm, si, dx, dg, db);
        Cuda.BatchNormBackward(gdy, gx, ggamma, gsm, gsi, gdx, gdg, gdb);
        AssertClose(dx, gdx, 1e-3f, 1e-3f, "dx");
        AssertClose(dg, gdg, 1e-3f, 1e-4f, "dgamma");
        AssertClose(db, gdb, 1e-3f, 1e-4f, "dbeta");
    }
}
