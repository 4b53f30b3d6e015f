using NUnit.Framework;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;
using SpikeEngine.Tests.Snn;

namespace SpikeEngine.Tests.Gpu;

/// <summary>A converted network moved with To(): every weight travels, the spikes stay the CPU's, and To(cpu) brings it back unchanged.</summary>
public class CudaSpikingNetworkTests : GpuTestBase
{
    [Test]
    public void ToCudaAndBackKeepsWeightsAndSpikeTrains()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 9));
        var weights = snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        using var images = SnnTestModels.Images(4, 1, 28, 10);
        var settings = new SimulationSettings(4, 4);
        var onCpu = snn.Simulate(images, settings).ToArray();

        snn.To(Gpu);
        Assert.That(snn.Network.Parameters().Select(p => p.Device), Is.All.EqualTo(Gpu), "every conv/linear weight and bias moved");
        using var gimages = images.To(Gpu);
        // Spike trains equal; the analog output layer sums in another order on cuBLAS.
        AssertClose(onCpu, snn.Simulate(gimages, settings).ToArray(), 1e-4f, 1e-4f, "outputs on cuda");

        snn.To(Device.Cpu);
        Assert.That(snn.Network.Parameters().Select(p => p.Device), Is.All.EqualTo(Device.Cpu));
        Assert.That(snn.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), Is.EqualTo(weights), "the round trip changes no weight");
        Assert.That(snn.Simulate(images, settings).ToArray(), Is.EqualTo(onCpu));
    }
}
