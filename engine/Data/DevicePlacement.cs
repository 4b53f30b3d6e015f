using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Data;

/// <summary>A batch whose images are on the model's device (the host batch is kept for its labels and indices).</summary>
public sealed class DeviceBatch : IDisposable
{
    private readonly Batch _host;

    internal DeviceBatch(Batch host, Tensor images)
    {
        _host = host;
        Images = images;
    }

    /// <summary>The normalised images [B,C,H,W] on the device; the host tensor itself on the CPU.</summary>
    public Tensor Images { get; }
    public int[] Labels => _host.Labels;
    /// <summary>Dataset indices of the images, in batch order.</summary>
    public int[] Indices => _host.Indices;
    public int Size => _host.Size;

    public void Dispose()
    {
        if (!ReferenceEquals(Images, _host.Images)) Images.Dispose();
        _host.Dispose();
    }
}

/// <summary>
/// The one place where a model and its input batches are put on a device. ANN evaluation, SNN evaluation,
/// diagnosis and training all take their batches through <see cref="Batches"/>, so a model on a GPU
/// never meets host images.
/// </summary>
public static class DevicePlacement
{
    /// <summary>Moves the model's parameters and buffers to <paramref name="device"/>.</summary>
    public static void Place(Module model, Device device) => model.To(device);

    /// <summary>One batch's images on <paramref name="device"/> (no copy when they are there already).</summary>
    public static DeviceBatch On(Batch batch, Device device)
    {
        Tensor images = batch.Images.Device == device ? batch.Images : batch.Images.To(device);
        return new DeviceBatch(batch, images);
    }

    /// <summary>The batches of one epoch of <paramref name="loader"/>, each moved to <paramref name="device"/>; dispose each.</summary>
    public static IEnumerable<DeviceBatch> Batches(DataLoader loader, Device device, int epoch = 0, CancellationToken cancel = default)
    {
        foreach (var batch in loader.Epoch(epoch, cancel))
        {
            DeviceBatch placed;
            try { placed = On(batch, device); }
            catch { batch.Dispose(); throw; }
            yield return placed;
        }
    }
}
