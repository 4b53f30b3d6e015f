using SpikeEngine.IO;

namespace SpikeEngine.Workflows;

/// <summary>Writing a loaded model out again: as a PyTorch .pth (the reference's names) or as safetensors with its metadata.</summary>
public static class Exports
{
    /// <summary>A .pth that torch.load reads into the reference model (atomic).</summary>
    public static void ToPyTorch(LoadedModel model, string path) => Checkpoints.ExportPyTorch(path, model.Ann);

    /// <summary>A safetensors file with the model's metadata (arch, classes, L, data set, normalisation), so it loads without options (atomic).</summary>
    public static void ToSafeTensors(LoadedModel model, string path) => Checkpoints.SaveSafeTensors(path, model.Ann, model.Metadata);
}
