using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Softmax cross-entropy, argmax and top-k. Labels travel to the device, per-row results come back.
public sealed partial class CudaBackend
{
    /// <summary>Copies the labels (checked by the contract) to the device.</summary>
    private Scratch UploadLabels(ReadOnlySpan<int> labels, int rows)
    {
        var buffer = Rent(Math.Max(rows, 1) * sizeof(int));
        _context.CopyHostToDevice(labels, buffer.Pointer);
        return buffer;
    }

    public float SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor? dlogits, float smoothing = 0f)
    {
        BackendContract.SoftmaxCrossEntropy(Device, logits, labels, dlogits, smoothing);
        int rows = logits.Shape[0], classes = logits.Shape[1];
        if (rows == 0) return 0f;
        using var deviceLabels = UploadLabels(labels, rows);
        using var losses = Rent(rows * sizeof(float));
        Launch(CudaKernels.SoftmaxCrossEntropy, rows, A(logits), deviceLabels.Pointer, losses.Pointer, A(dlogits, optional: true), rows, classes, smoothing);
        var host = new float[rows];
        _context.CopyDeviceToHost<float>(losses.Pointer, host);
        double total = 0;
        foreach (var l in host) total += l;
        return (float)(total / rows);
    }

    public void ArgMax(Tensor x, Span<int> indices)
    {
        BackendContract.ArgMax(Device, x, indices.Length);
        int rows = x.Shape[0], classes = x.Shape[1];
        if (rows == 0) return;
        using var result = Rent(rows * sizeof(int));
        Launch(CudaKernels.ArgMax, rows, A(x), result.Pointer, rows, classes);
        _context.CopyDeviceToHost(result.Pointer, indices[..rows]);
    }

    public void TopKCorrect(Tensor x, ReadOnlySpan<int> labels, int k, Span<bool> correct)
    {
        BackendContract.TopKCorrect(Device, x, labels, k, correct.Length);
        int rows = x.Shape[0], classes = x.Shape[1];
        if (rows == 0) return;
        using var deviceLabels = UploadLabels(labels, rows);
        using var result = Rent(rows * sizeof(int));
        Launch(CudaKernels.TopKCorrect, rows, A(x), deviceLabels.Pointer, result.Pointer, rows, classes, k);
        var host = new int[rows];
        _context.CopyDeviceToHost<int>(result.Pointer, host);
        for (int i = 0; i < rows; i++) correct[i] = host[i] != 0;
    }
}
