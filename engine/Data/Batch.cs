using SpikeEngine.Tensors;

namespace SpikeEngine.Data;

/// <summary>A batch of normalised images [B,C,H,W] (host tensor), their labels and dataset indices.</summary>
public sealed class Batch(Tensor images, int[] labels, int[] indices) : IDisposable
{
    public Tensor Images { get; } = images;
    public int[] Labels { get; } = labels;
    public int[] Indices { get; } = indices;
    public int Size => Labels.Length;
    public void Dispose() => Images.Dispose();
}
