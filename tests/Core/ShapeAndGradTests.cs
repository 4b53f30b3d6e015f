namespace SpikeEngine.Tests.Core;

public class ShapeTests
{
    [Test]
    public void ShapeCountsElementsAndCompares()
    {
        var s = new Shape(2, 3, 4);
        Assert.That(s.Numel, Is.EqualTo(24));
        Assert.That(s.SizeFrom(1), Is.EqualTo(12));
        Assert.That(s[-1], Is.EqualTo(4));
        Assert.That(s, Is.EqualTo(new Shape(2, 3, 4)));
        Assert.That(s == new Shape(2, 4, 3), Is.False);
        Assert.That(s.ToString(), Is.EqualTo("[2, 3, 4]"));
    }

    [Test]
    public void NegativeDimensionIsRejected()
        => Assert.That(() => new Shape(2, -1), Throws.ArgumentException.With.Message.Contains("negative"));

    [Test]
    public void ViewChecksElementCount()
    {
        using var t = Tensor.Zeros(new Shape(2, 6));
        Assert.That(t.View(new Shape(3, 4)).Shape, Is.EqualTo(new Shape(3, 4)));
        Assert.That(() => t.View(new Shape(5)), Throws.ArgumentException.With.Message.Contains("[2, 6]"));
    }

    [Test]
    public void DeviceParsesOptionSpellings()
    {
        Assert.That(Device.Parse("cpu"), Is.EqualTo(Device.Cpu));
        Assert.That(Device.Parse("cuda:1"), Is.EqualTo(Device.Cuda(1)));
        Assert.That(() => Device.Parse("tpu"), Throws.ArgumentException.With.Message.Contains("tpu"));
    }
}
