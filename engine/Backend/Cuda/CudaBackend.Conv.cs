using SpikeEngine.Cuda;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cuda;

// 2-D convolution: im2col / col2im (kernels/conv.cu) around batched cuBLAS SGEMMs, or cuDNN when
// UseCudnn is set (CudaBackend.Conv.Cudnn.cs). Samples are processed in chunks whose column matrices fit MaxColumnFloats.
public sealed partial class CudaBackend
{
    /// <summary>Largest im2col buffer of one convolution chunk, in floats (samples are processed in chunks that fit).</summary>
    internal static long MaxColumnFloats { get; set; } = 32L << 20;

    /// <summary>1×1 stride-1 unpadded convolutions need no im2col: the input plane is already the column matrix.</summary>
    private static bool IsPointwise(Conv2dGeometry g) => g is { R: 1, S: 1, StrideH: 1, StrideW: 1, PadH: 0, PadW: 0 };

    private static int ChunkSamples(Conv2dGeometry g)
    {
        long perSample = (long)g.C * g.R * g.S * g.OutH * g.OutW;
        return (int)Math.Clamp(MaxColumnFloats / Math.Max(perSample, 1), 1, Math.Max(g.N, 1));
    }

    /// <summary>Launches im2col (image → columns) or col2im (columns → image) for <paramref name="count"/> samples.</summary>
    private void ColumnKernel(KernelSpec spec, DevicePointer from, DevicePointer to, long threads, int count, Conv2dGeometry g)
        => Launch(spec, threads, from, to, count, g.C, g.H, g.W, g.R, g.S, g.StrideH, g.StrideW, g.PadH, g.PadW, g.OutH, g.OutW);

    public void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g)
    {
        BackendContract.Conv2dForward(Device, x, w, bias, y, g);
        if (UseCudnn && CudnnAvailable) { CudnnConvolutionForward(x, w, bias, y, g); return; }
        int plane = g.OutH * g.OutW, rows = g.C * g.R * g.S, inSize = g.C * g.H * g.W;
        var px = P(x, "x"); var pw = P(w, "weight"); var py = P(y, "y");
        bool pointwise = IsPointwise(g);
        int chunk = pointwise ? g.N : ChunkSamples(g);
        using var col = Rent(pointwise ? 4 : (long)chunk * rows * plane * sizeof(float));
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            var columns = px.Floats((long)n0 * inSize);
            if (!pointwise) { ColumnKernel(CudaKernels.Im2Col, columns, col.Pointer, (long)count * rows * plane, count, g); columns = col.Pointer; }
            // y_i[K, P] = W[K, CRS] · col_i[CRS, P] for each sample i of the chunk.
            RowMajorGemmBatched(false, false, g.K, plane, rows, 1f, pw, rows, 0, columns, plane, (long)rows * plane,
                0f, py.Floats((long)n0 * g.K * plane), plane, (long)g.K * plane, count);
        }
        if (bias is not null) Launch(CudaKernels.AddChannelBias, y.Numel, A(y), A(bias), g.N, g.K, plane);
    }

    public void Conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g)
    {
        BackendContract.Conv2dBackwardData(Device, dy, w, dx, g);
        if (UseCudnn && CudnnAvailable) { CudnnConvolutionBackwardData(dy, w, dx, g); return; }
        int plane = g.OutH * g.OutW, rows = g.C * g.R * g.S, inSize = g.C * g.H * g.W;
        var pdy = P(dy, "dy"); var pw = P(w, "weight"); var pdx = P(dx, "dx");
        bool pointwise = IsPointwise(g);
        int chunk = pointwise ? g.N : ChunkSamples(g);
        using var col = Rent(pointwise ? 4 : (long)chunk * rows * plane * sizeof(float));
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            var target = pointwise ? pdx.Floats((long)n0 * inSize) : col.Pointer;
            // dcol_i[CRS, P] = Wᵀ[CRS, K] · dy_i[K, P]
            RowMajorGemmBatched(true, false, rows, plane, g.K, 1f, pw, rows, 0, pdy.Floats((long)n0 * g.K * plane), plane, (long)g.K * plane,
                0f, target, plane, (long)rows * plane, count);
            if (!pointwise) ColumnKernel(CudaKernels.Col2Im, col.Pointer, pdx.Floats((long)n0 * inSize), (long)count * inSize, count, g);
        }
    }

    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g)
    {
        BackendContract.Conv2dBackwardWeight(Device, x, dy, dw, dbias, g);
        if (UseCudnn && CudnnAvailable) { CudnnConvolutionBackwardFilter(x, dy, dw, dbias, g); return; }
        int plane = g.OutH * g.OutW, rows = g.C * g.R * g.S, inSize = g.C * g.H * g.W;
        var px = P(x, "x"); var pdy = P(dy, "dy"); var pdw = P(dw, "dw");
        bool pointwise = IsPointwise(g);
        int chunk = pointwise ? g.N : ChunkSamples(g);
        using var col = Rent(pointwise ? 4 : (long)chunk * rows * plane * sizeof(float));
        // The chunk's samples side by side: dyRows[K, count·P] and colRows[CRS, count·P], so
        // dW[K, CRS] (+)= dyRows · colRowsᵀ is one GEMM per chunk over (sample, position).
        using var dyRows = Rent((long)chunk * g.K * plane * sizeof(float));
        using var colRows = Rent((long)chunk * rows * plane * sizeof(float));
        if (g.N == 0) _context.Memset32(pdw, 0, dw.Numel);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            var columns = px.Floats((long)n0 * inSize);
            if (!pointwise) { ColumnKernel(CudaKernels.Im2Col, columns, col.Pointer, (long)count * rows * plane, count, g); columns = col.Pointer; }
            Launch(CudaKernels.BatchToRows, (long)count * g.K * plane, pdy.Floats((long)n0 * g.K * plane), dyRows.Pointer, count, g.K, plane);
            Launch(CudaKernels.BatchToRows, (long)count * rows * plane, columns, colRows.Pointer, count, rows, plane);
            RowMajorGemm(false, true, g.K, rows, count * plane, 1f, dyRows.Pointer, count * plane,
                colRows.Pointer, count * plane, n0 == 0 ? 0f : 1f, pdw, rows);
        }
        if (dbias is not null) LaunchBlocks(CudaKernels.ChannelSums, g.K, A(dy), A(dbias), g.N, g.K, plane);
    }
}
