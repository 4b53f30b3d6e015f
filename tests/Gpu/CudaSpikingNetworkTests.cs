using SpikeEngine.Tests.Snn;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// A converted network moved with To(): every weight travels, the outputs stay the CPU's (exactly: dyadic
/// weights, thresholds and images make every sum exact whatever its order), and To(cpu) brings it back unchanged.
/// </summary>
public class CudaSpikingNetworkTests : GpuTestBase
{
    [Test]
    public void ToCudaAndBackKeepsWeightsAndSpikeTrains()
    {
        var snn = DyadicSnn(SnnTestModels.Cnn(seed: 9), seed: 9);
        var weights = snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        using var images = DyadicImages(4, 1, 28, 10);
        var settings = new SimulationSettings(4, 4);
        var onCpu = snn.Simulate(images, settings).ToArray();

        snn.To(Gpu);
        Assert.That(snn.Network.Parameters().Select(p => p.Device), Is.All.EqualTo(Gpu), "every conv/linear weight and bias moved");
        using var gimages = images.To(Gpu);
        Assert.That(onCpu.Count(v => v != 0f), Is.GreaterThan(onCpu.Length / 2), "the network computes something");
        AssertClose(onCpu, snn.Simulate(gimages, settings).ToArray(), 0f, 0f, "outputs on cuda");

        snn.To(Device.Cpu);
        Assert.That(snn.Network.Parameters().Select(p => p.Device), Is.All.EqualTo(Device.Cpu));
        Assert.That(snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), Is.EqualTo(weights), "the round trip changes no weight");
        Assert.That(snn.Simulate(images, settings).ToArray(), Is.EqualTo(onCpu));
    }
}
