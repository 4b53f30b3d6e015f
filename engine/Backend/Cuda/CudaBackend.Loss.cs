using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Softmax cross-entropy, argmax and top-k. Labels travel to the device, per-row results come back.
public sealed partial class CudaBackend
{
    private static (int Rows, int Classes) Rows(Tensor x, string op)
    {
        if (x.Rank != 2) throw new ArgumentException($"{op}: expected [N, classes], got {x.Shape}.");
        return (x.Shape[0], x.Shape[1]);
    }

    private Scratch UploadLabels(ReadOnlySpan<int> labels, int rows, int classes, string op)
    {
        if (labels.Length != rows) throw new ArgumentException($"{op}: {labels.Length} labels for {rows} rows.");
        foreach (var l in labels)
            if ((uint)l >= (uint)classes) throw new ArgumentException($"{op}: label {l} is outside [0, {classes}).");
        var buffer = Rent(Math.Max(rows, 1) * sizeof(int));
        _context.CopyHostToDevice(labels, buffer.Pointer);
        return buffer;
    }

    public float SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor? dlogits)
    {
        var (rows, classes) = Rows(logits, "SoftmaxCrossEntropy");
        if (rows == 0) return 0f;
        using var deviceLabels = UploadLabels(labels, rows, classes, "SoftmaxCrossEntropy");
        using var losses = Rent(rows * sizeof(float));
        Launch(CudaKernels.SoftmaxCrossEntropy, rows, A(logits), deviceLabels.Pointer, losses.Pointer, A(dlogits, optional: true), rows, classes);
        var host = new float[rows];
        _context.CopyDeviceToHost<float>(losses.Pointer, host);
        double total = 0;
        foreach (var l in host) total += l;
        return (float)(total / rows);
    }

    public void ArgMax(Tensor x, Span<int> indices)
    {
        var (rows, classes) = Rows(x, "ArgMax");
        if (indices.Length < rows) throw new ArgumentException($"ArgMax: {indices.Length} slots for {rows} rows.");
        if (rows == 0) return;
        using var result = Rent(rows * sizeof(int));
        Launch(CudaKernels.ArgMax, rows, A(x), result.Pointer, rows, classes);
        _context.CopyDeviceToHost(result.Pointer, indices[..rows]);
    }

    public void TopKCorrect(Tensor x, ReadOnlySpan<int> labels, int k, Span<bool> correct)
    {
        var (rows, classes) = Rows(x, "TopKCorrect");
        if (k < 1) throw new ArgumentException($"TopKCorrect: k must be at least 1, got {k}.");
        if (correct.Length < rows) throw new ArgumentException($"TopKCorrect: {correct.Length} slots for {rows} rows.");
        if (rows == 0) return;
        using var deviceLabels = UploadLabels(labels, rows, classes, "TopKCorrect");
        using var result = Rent(rows * sizeof(int));
        Launch(CudaKernels.TopKCorrect, rows, A(x), deviceLabels.Pointer, result.Pointer, rows, classes, k);
        var host = new int[rows];
        _context.CopyDeviceToHost<int>(result.Pointer, host);
        for (int i = 0; i < rows; i++) correct[i] = host[i] != 0;
    }
}
