using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// Fully connected layer: y[N,Out] = x[N,In] · wᵀ + bias, as cuBLAS GEMMs plus the bias kernels of kernels/linear.cu.
public sealed partial class CudaBackend
{
    public void LinearForward(Tensor x, Tensor w, Tensor? bias, Tensor y)
    {
        BackendContract.LinearForward(Device, x, w, bias, y);
        int n = x.Shape[0], inF = w.Shape[1], outF = w.Shape[0];
        RowMajorGemm(false, true, n, outF, inF, 1f, P(x, "x"), inF, P(w, "weight"), inF, 0f, P(y, "y"), outF);
        if (bias is not null) Launch(CudaKernels.AddRowBias, y.Numel, A(y), A(bias), n, outF);
    }

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias)
    {
        BackendContract.LinearBackward(Device, x, w, dy, dx, dw, dbias);
        int n = x.Shape[0], inF = w.Shape[1], outF = w.Shape[0];
        if (dx is not null) RowMajorGemm(false, false, n, inF, outF, 1f, P(dy, "dy"), outF, P(w, "weight"), inF, 0f, P(dx, "dx"), inF);
        if (dw is not null) RowMajorGemm(true, false, outF, inF, n, 1f, P(dy, "dy"), outF, P(x, "x"), inF, 0f, P(dw, "dw"), inF);
        if (dbias is not null) Launch(CudaKernels.ColumnSums, outF, A(dy), A(dbias), n, outF);
    }
}
