namespace SpikeEngine.Tests.Gpu;

/// <summary>Clamp (ReLU, Clip) and the strided block copy (Concat) of imported networks: CUDA against the CPU backend.</summary>
public class CudaImportedOpsTests : GpuTestBase
{
    [TestCase(1, 0f, float.PositiveInfinity)]
    [TestCase(65_537, 0f, 6f)]
    [TestCase(1_000_003, 0f, 0.25f)]
    public void ClampMatchesCpu(int n, float lo, float hi)
    {
        var rng = new Random(n);
        var (x, gx) = BothRandom(rng, new Shape(n));
        var (dy, gdy) = BothRandom(rng, new Shape(n));
        var (y, gy) = BothRandom(rng, new Shape(n));
        Cpu.Clamp(x, lo, hi, y); Cuda.Clamp(gx, lo, hi, gy); AssertExact(y, gy, "clamp");
        Cpu.ClampBackward(dy, x, lo, hi, y); Cuda.ClampBackward(gdy, gx, lo, hi, gy); AssertExact(y, gy, "clamp backward");
    }

    [Test]
    public void CopyBlocksMatchesCpu()
    {
        var rng = new Random(9);
        var (src, gsrc) = BothRandom(rng, new Shape(5000));
        var (dst, gdst) = BothRandom(rng, new Shape(9000));
        Cpu.CopyBlocks(src, 7, 120, dst, 11, 200, 40, 97);
        Cuda.CopyBlocks(gsrc, 7, 120, gdst, 11, 200, 40, 97);
        AssertExact(dst, gdst, "copy blocks");
    }

    [Test]
    public void ImportedGraphLogitsMatchCpu()
    {
        var imported = SpikeEngine.IO.Onnx.OnnxImporter.Import(Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "onnx", "small_cnn.onnx"));
        var cpu = imported.CreateNetwork();
        var gpu = imported.CreateNetwork();
        gpu.To(Gpu);
        var (input, shape) = Npy.Read(Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "onnx", "small_cnn_input.npy"));
        using var noGrad = Grad.NoGrad();
        using var x = Tensor.FromArray(input, new Shape(shape));
        using var gx = Tensor.FromArray(input, new Shape(shape), Gpu);
        using var y = cpu.Forward(x);
        using var gy = gpu.Forward(gx);
        AssertClose(y, gy, 1e-5f, 1e-5f, "small_cnn logits");
    }
}
