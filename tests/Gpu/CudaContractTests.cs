using SpikeEngine.Tests.Backend;

namespace SpikeEngine.Tests.Gpu;

/// <summary>The bad-call table of BackendContractTests on CUDA: the same exception type and message as the CPU backend.</summary>
public class CudaContractTests : GpuTestBase
{
    private static IEnumerable<BadBackendCalls.Case> Cases() => BadBackendCalls.All();

    [TestCaseSource(nameof(Cases))]
    public void CudaRejectsTheBadCallAsTheCpuDoes(BadBackendCalls.Case c)
    {
        var cpu = BadBackendCalls.Throws(c, Cpu);
        var gpu = BadBackendCalls.Throws(c, Cuda);
        Assert.That(gpu.GetType(), Is.EqualTo(cpu.GetType()), gpu.ToString());
        Assert.That(gpu.Message, Is.EqualTo(cpu.Message));
        Cuda.Synchronize(); // nothing was queued that fails later
    }
}
