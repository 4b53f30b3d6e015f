using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Fully connected layer: y[N,Out] = x[N,In] · wᵀ + bias.
public sealed partial class CpuBackend
{
    public void LinearForward(Tensor x, Tensor w, Tensor? bias, Tensor y)
    {
        BackendContract.LinearForward(Device, x, w, bias, y);
        int n = x.Shape[0], inF = w.Shape[1], outF = w.Shape[0];
        if (TryLinearForwardSparse(Data(x), Data(w), bias is null ? null : Data(bias), Data(y), n, inF, outF)) return;
        GemmArrays(false, true, n, outF, inF, 1f, Data(x), 0, inF, Data(w), 0, inF, 0f, Data(y), 0, outF, Threads);
        if (bias is null) return;
        float[] dy = Data(y), db = Data(bias);
        ForEach(n, r => AxpySpan(1f, db.AsSpan(0, outF), dy.AsSpan(r * outF, outF)));
    }

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias)
    {
        BackendContract.LinearBackward(Device, x, w, dy, dx, dw, dbias);
        int n = x.Shape[0], inF = w.Shape[1], outF = w.Shape[0];
        float[] g = Data(dy);
        // dx[N,In] = dy[N,Out] · w[Out,In]
        if (dx is not null)
            GemmArrays(false, false, n, inF, outF, 1f, g, 0, outF, Data(w), 0, inF, 0f, Data(dx), 0, inF, Threads);
        // dw[Out,In] = dyᵀ · x
        if (dw is not null)
            GemmArrays(true, false, outF, inF, n, 1f, g, 0, outF, Data(x), 0, inF, 0f, Data(dw), 0, inF, Threads);
        if (dbias is not null)
        {
            float[] db = Data(dbias);
            ForEach(outF, o =>
            {
                double s = 0;
                for (int r = 0; r < n; r++) s += g[r * outF + o];
                db[o] = (float)s;
            });
        }
    }
}
