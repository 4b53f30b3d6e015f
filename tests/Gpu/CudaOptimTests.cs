namespace SpikeEngine.Tests.Gpu;

/// <summary>The SGD update: CUDA against the CPU backend.</summary>
public class CudaOptimTests : GpuTestBase
{
    [TestCase(true)]
    [TestCase(false)]
    public void SgdUpdateMatchesCpu(bool firstStep)
    {
        var rng = new Random(30);
        var shape = new Shape(3, 1001);
        var (p, gp) = BothRandom(rng, shape);
        var (grad, ggrad) = BothRandom(rng, shape);
        var (buf, gbuf) = BothRandom(rng, shape);
        for (int step = 0; step < 3; step++)
        {
            bool first = firstStep && step == 0;
            Cpu.SgdUpdate(p, grad, buf, 0.1f, 0.9f, 5e-4f, first);
            Cuda.SgdUpdate(gp, ggrad, gbuf, 0.1f, 0.9f, 5e-4f, first);
        }
        AssertClose(p, gp, 1e-6f, 1e-5f, "param");
        AssertClose(buf, gbuf, 1e-6f, 1e-5f, "momentum buffer");
    }
}
