using SpikeEngine.Backend.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>Linear forward and backward (cuBLAS + kernels/linear.cu) against the CPU backend.</summary>
public class CudaLinearTests : GpuTestBase
{
    private const float Atol = 1e-4f, Rtol = 1e-4f;

    [TestCase(1, 3, 2, true)]
    [TestCase(37, 129, 10, true)]
    [TestCase(64, 512, 100, false)]
    public void LinearForwardAndBackwardMatchCpu(int n, int inF, int outF, bool withBias)
    {
        var rng = new Random(n + inF + outF);
        var (x, gx) = BothRandom(rng, new Shape(n, inF));
        var (w, gw) = BothRandom(rng, new Shape(outF, inF));
        var (b, gb) = BothRandom(rng, new Shape(outF));
        var (dy, gdy) = BothRandom(rng, new Shape(n, outF));
        using var y = Cpu.Empty(new Shape(n, outF)); using var gy = Cuda.Empty(new Shape(n, outF));
        Cpu.LinearForward(x, w, withBias ? b : null, y);
        Cuda.LinearForward(gx, gw, withBias ? gb : null, gy);
        AssertClose(y, gy, Atol, Rtol, "y");
        using var dx = Cpu.Empty(x.Shape); using var dw = Cpu.Empty(w.Shape); using var db = Cpu.Empty(b.Shape);
        using var gdx = Cuda.Empty(x.Shape); using var gdw = Cuda.Empty(w.Shape); using var gdb = Cuda.Empty(b.Shape);
        Cpu.LinearBackward(x, w, dy, dx, dw, withBias ? db : null);
        Cuda.LinearBackward(gx, gw, gdy, gdx, gdw, withBias ? gdb : null);
        AssertClose(dx, gdx, Atol, Rtol, "dx");
        AssertClose(dw, gdw, Atol, Rtol, "dw");
        if (withBias) AssertClose(db, gdb, Atol, Rtol, "dbias");
    }
}
