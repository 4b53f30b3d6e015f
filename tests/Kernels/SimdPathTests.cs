using System.Numerics;
using System.Runtime.Intrinsics;
using SpikeEngine.Backend.Cpu;

namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// The CPU kernels pick AVX-512, AVX2 or portable code when the JIT compiles them. .ci/run runs the kernel
/// and neuron tests three times — as the machine allows, with DOTNET_EnableAVX512=0 and with
/// DOTNET_EnableHWIntrinsic=0 — so that every path is checked against the same references. This test
/// reports which path a run took and fails when a switch did not take effect (a silent no-op switch
/// would run the same path three times).
/// </summary>
public class SimdPathTests
{
    private static bool SwitchedOff(string variable) => Environment.GetEnvironmentVariable(variable) == "0";

    [Test]
    public void KernelPathFollowsTheRuntimeSwitches()
    {
        int gemm = CpuBackend.GemmKernelWidth;
        string neuron = Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "scalar";
        string gemmKernel = gemm switch { 512 => "8x32 AVX-512F", 256 => "6x16 AVX2+FMA", _ => "portable row loops" };
        TestContext.Out.WriteLine($"GEMM micro-kernel: {gemmKernel}; IF neuron lanes: {neuron}; Vector<float>: {Vector<float>.Count} lanes" +
                                  $"{(Vector.IsHardwareAccelerated ? "" : " (not accelerated)")}");
        if (SwitchedOff("DOTNET_EnableHWIntrinsic"))
        {
            Assert.That(gemm, Is.Zero, "DOTNET_EnableHWIntrinsic=0 must select the portable GEMM");
            Assert.That(neuron, Is.EqualTo("scalar"), "DOTNET_EnableHWIntrinsic=0 must select the scalar neuron loop");
            Assert.That(Vector.IsHardwareAccelerated, Is.False);
        }
        // .NET 10 switches AVX-512 (F+BW+CD+DQ+VL together) with DOTNET_EnableAVX512; DOTNET_EnableAVX512F was the
        // .NET 8/9 name and is ignored by the .NET 10 runtime (measured: the 8x32 kernel still runs), which this reports.
        foreach (var avx512Switch in new[] { "DOTNET_EnableAVX512", "DOTNET_EnableAVX512F" }.Where(SwitchedOff))
        {
            string hint = avx512Switch == "DOTNET_EnableAVX512F" && Environment.Version.Major >= 10
                ? $" (.NET {Environment.Version} ignores it: use DOTNET_EnableAVX512=0)" : "";
            Assert.That(gemm, Is.Not.EqualTo(512), $"{avx512Switch}=0 must leave the AVX-512 GEMM kernel{hint}");
            Assert.That(Vector512.IsHardwareAccelerated, Is.False, $"{avx512Switch}=0 must leave the Vector512 neuron lanes{hint}");
        }
    }
}
