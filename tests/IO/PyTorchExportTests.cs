using static SpikeEngine.Tests.IO.CheckpointFixtures;

namespace SpikeEngine.Tests.IO;

/// <summary>A .pth we export loads in real PyTorch (torch.load + strict load_state_dict) and gives the fixture's logits.</summary>
public class PyTorchExportTests
{
    [TestCase("resnet20_mixed_fp16.pth", "resnet20")]
    [TestCase("vgg16_narrow_wrapped.pth", "vgg16_narrow")]
    public void TorchLoadsOurExportAndGivesTheSameLogits(string fixture, string model)
    {
        var path = Path.Combine(Path.GetTempPath(), $"spike_export_{Guid.NewGuid():N}.pth");
        try
        {
            PyTorchCheckpoint.Save(path, Checkpoints.Load(File(fixture)).Tensors);
            var (code, output) = RunScript("--check-export", path, "--arch", model, "--fixtures", Folder);
            Assert.That(code, Is.Zero, output);
            Assert.That(output, Does.Contain("OK"));
        }
        finally { System.IO.File.Delete(path); }
    }
}
