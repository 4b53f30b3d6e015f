namespace SpikeEngine.Tests.Snn;

/// <summary>
/// The IF + COS kernel fed the reference's exact pre-activations must give exactly the reference's
/// spikes and initial potentials: no conv rounding is involved, so every spike must agree.
/// </summary>
public class ReferenceKernelTests
{
    private static void CheckKernel(SafeTensors.Contents fixture)
    {
        var z = fixture.Tensors["kernel.z"];
        var expectedSpikes = fixture.Tensors["kernel.spikes"].ToArray();
        var expectedV0 = fixture.Tensors["kernel.v0"].ToArray();
        float theta = fixture.Tensors["kernel.theta"].Item();
        int steps = int.Parse(fixture.Metadata["steps"]);
        using var y = Tensor.Empty(z.Shape);
        using var v0 = Tensor.Empty(new Shape(z.Numel / steps));
        Backends.Cpu.IfNeuronForward(z, steps, theta, presimSteps: 4, iterations: 1, y, v0);
        var actual = y.ToArray();
        int differing = actual.Zip(expectedSpikes).Count(p => p.First != p.Second);
        Assert.That(differing, Is.Zero, $"spikes differing from the reference (of {actual.Length})");
        Assert.That(v0.ToArray(), Is.EqualTo(expectedV0));
        Assert.That(expectedSpikes.Count(s => s != 0), Is.GreaterThan(100), "the fixture must exercise spiking");
        Assert.That(expectedV0.Count(v => v != 0.5f), Is.GreaterThan(10), "the fixture must exercise COS shifts");
    }

    [Test]
    public void KernelMatchesCommittedReferenceSpikesExactly()
        => CheckKernel(SafeTensors.Load(ReferenceFixtures.Committed("cnn.cos.safetensors")));

    [Test]
    public void KernelMatchesFreshlyRegeneratedReference()
    {
        var folder = Directory.CreateTempSubdirectory("snnref").FullName;
        try
        {
            // A different seed and batch than the committed fixture.
            CheckKernel(ReferenceFixtures.Regenerate(folder, "kernel.safetensors", "--arch", "cnn", "--batch", "3", "--seed", "7", "--rhos", "4"));
        }
        finally { Directory.Delete(folder, true); }
    }
}
