using SpikeEngine.Backend.Cuda;
using SpikeEngine.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// The emulated device's own promises (kernels/README.md, "The emulated device"): a kernel that touches memory
/// outside its allocation fails with CUDA_ERROR_ILLEGAL_ADDRESS instead of passing silently, copies outside an
/// allocation are refused, a kernel missing from a module's PTX is not found, and the device keeps working
/// after a failed launch. Real kernels are launched with deliberately short buffers, bypassing the backend's
/// argument checks (which would refuse them). Skipped on a real GPU, which has no guard zones: category Emulator,
/// which .ci/run leaves out of its default run on a machine with a GPU (its emulator run covers it).
/// </summary>
[Category("Emulator")]
public class CudaEmulatorTests : GpuTestBase
{
    private CudaContext Context => Cuda.Context;

    [SetUp]
    public void RequireEmulator()
    {
        if (!Context.IsEmulated) Assert.Ignore("guard zones and PTX checks of the emulated device (SPIKEENGINE_CUDA=emulator)");
    }

    private static void AssertIllegalAddress(TestDelegate launch, string kernel)
    {
        var e = Assert.Throws<CudaException>(launch)!;
        Assert.That(e.Status, Is.EqualTo(700), e.Message);
        Assert.That(e.StatusName, Is.EqualTo("CUDA_ERROR_ILLEGAL_ADDRESS"));
        Assert.That(e.Message, Does.Contain($"cuLaunchKernel({kernel})").And.Contain("emulator: kernel " + kernel));
    }

    [TestCase(1)]       // one float past the end: the guard page right after the allocation
    [TestCase(5000)]    // far past the end, beyond the guard page's neighbour
    public void WritePastTheEndFails(int extra)
    {
        var buffer = Context.Allocate(100 * sizeof(float));
        try
        {
            AssertIllegalAddress(() => Context.Launch(CudaKernels.Fill, 1, 256, [buffer, 1f, 100 + extra]), "ew_fill");
        }
        finally { Context.Free(buffer); }
    }

    [Test]
    public void WriteIntoTheSlackOfAnOddSizeFails()
    {
        var buffer = Context.Allocate(6); // one float and a half: the second float's last two bytes are canaries
        try
        {
            Context.Launch(CudaKernels.Fill, 1, 256, [buffer, 2f, 1]);
            AssertIllegalAddress(() => Context.Launch(CudaKernels.Fill, 1, 256, [buffer, 2f, 2]), "ew_fill");
        }
        finally { Context.Free(buffer); }
    }

    [Test]
    public void ReadPastTheEndFailsAndTheDeviceKeepsWorking()
    {
        var a = Context.Allocate(64 * sizeof(float));
        var b = Context.Allocate(1024 * sizeof(float));
        var y = Context.Allocate(1024 * sizeof(float));
        try
        {
            Context.Launch(CudaKernels.Fill, 4, 256, [b, 1f, 1024]);
            AssertIllegalAddress(() => Context.Launch(CudaKernels.Add, 4, 256, [a, b, y, 1024]), "ew_add");
            // the same device still computes after the failure
            Context.Launch(CudaKernels.Fill, 1, 256, [a, 2f, 64]);
            Context.Launch(CudaKernels.Add, 1, 256, [a, b, y, 64]);
            var host = new float[64];
            Context.CopyDeviceToHost<float>(y, host);
            Assert.That(host, Is.All.EqualTo(3f));
        }
        finally { Context.Free(a); Context.Free(b); Context.Free(y); }
    }

    [Test]
    public void FreshMemoryReadsAsNaN()
    {
        // Uninitialised device memory is not zero on a GPU either; the emulator makes reading it visible.
        var buffer = Context.Allocate(8 * sizeof(float)); // straight from cuMemAlloc, not a block the pool reuses
        try
        {
            var host = new float[8];
            Context.CopyDeviceToHost<float>(buffer, host);
            Assert.That(host, Is.All.NaN);
        }
        finally { Context.Free(buffer); }
    }

    [Test]
    public void CopiesOutsideAnAllocationAreRefused()
    {
        var buffer = Context.Allocate(16 * sizeof(float));
        try
        {
            var e = Assert.Throws<CudaException>(() => Context.CopyHostToDevice<float>(new float[17], buffer))!;
            Assert.That(e.StatusName, Is.EqualTo("CUDA_ERROR_INVALID_VALUE"));
            Assert.That(e.Message, Does.Contain("not inside one live allocation"));
            Assert.Throws<CudaException>(() => Context.CopyDeviceToHost<float>(new DevicePointer(buffer.Address + 8), new float[16]));
        }
        finally { Context.Free(buffer); }
    }

    [Test]
    public void AKernelMissingFromThePtxIsNotFound()
    {
        // A module whose PTX declares only ew_fill: ew_add exists in the emulator but not in this module.
        const string ptx = ".version 7.8\n.target sm_80\n.address_size 64\n.visible .entry ew_fill(\n.param .u64 p0\n)\n{\nret;\n}\n";
        Context.LoadModule("emulator_test_fill_only", System.Text.Encoding.ASCII.GetBytes(ptx));
        var fillOnly = new KernelSpec("emulator_test_fill_only", "ew_add", "pppi");
        var e = Assert.Throws<CudaException>(() => Context.Launch(fillOnly, 1, 256, [KernelArg.NullPointer, KernelArg.NullPointer, KernelArg.NullPointer, 0]))!;
        Assert.That(e.StatusName, Is.EqualTo("CUDA_ERROR_NOT_FOUND"));

        // A PTX entry the emulator was not built with is refused at load, naming the kernel.
        var unknown = Assert.Throws<CudaException>(() => Context.LoadModule("emulator_test_unknown",
            System.Text.Encoding.ASCII.GetBytes(ptx.Replace("ew_fill", "no_such_kernel"))))!;
        Assert.That(unknown.Message, Does.Contain("no_such_kernel"));
    }

    [Test]
    public void ACubinIsLoadedOnlyWhenThePtxCannotBeJitted()
    {
        // The emulator refuses a PTX entry it was not built with as CUDA_ERROR_INVALID_PTX, a JIT failure; the
        // emulator reads any image as text, so a valid PTX stands in for the cubin of the device's architecture.
        const string ptx = ".version 7.8\n.target sm_80\n.address_size 64\n.visible .entry ew_fill(\n.param .u64 p0\n)\n{\nret;\n}\n";
        var good = System.Text.Encoding.ASCII.GetBytes(ptx + "\0");
        var unjittable = System.Text.Encoding.ASCII.GetBytes(ptx.Replace("ew_fill", "no_such_kernel"));

        Context.LoadModule("emulator_test_ptx_first", System.Text.Encoding.ASCII.GetBytes(ptx), good);
        Assert.That(Context.ModuleImages["emulator_test_ptx_first"], Is.EqualTo("ptx"), "the PTX loads, so the cubin is not used");

        Context.LoadModule("emulator_test_cubin_fallback", unjittable, good);
        Assert.That(Context.ModuleImages["emulator_test_cubin_fallback"], Does.StartWith("cubin sm_").And.Contain("CUDA_ERROR_INVALID_PTX"));

        var both = Assert.Throws<CudaException>(() => Context.LoadModule("emulator_test_both_fail", unjittable,
            System.Text.Encoding.ASCII.GetBytes("not an image\0")))!;
        Assert.That(both.StatusName, Is.EqualTo("CUDA_ERROR_INVALID_PTX"));
        Assert.That(both.Message, Does.Contain("cubin sm_").And.Contain("also failed"));

        // Not a JIT failure (an image that is not PTX at all): the error stands, no cubin is tried.
        var notPtx = Assert.Throws<CudaException>(() => Context.LoadModule("emulator_test_not_ptx",
            System.Text.Encoding.ASCII.GetBytes("garbage"), good))!;
        Assert.That(notPtx.StatusName, Is.EqualTo("CUDA_ERROR_INVALID_IMAGE"));
        Assert.That(Context.HasModule("emulator_test_not_ptx"), Is.False);
    }

    [Test]
    public void CudnnIsReportedAbsent()
        => Assert.That(Cuda.CudnnUnavailableReason, Is.EqualTo(CudaLibraries.CudnnAbsentUnderEmulator));
}
