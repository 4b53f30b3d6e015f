using System.Numerics;
using System.Runtime.InteropServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Elementwise ops and the full sum. Outputs may alias inputs (same index read before written).
public sealed partial class CpuBackend
{
    public void Add(Tensor a, Tensor b, Tensor y) { BackendContract.Binary(nameof(Add), Device, a, b, y); Binary<AddOp>(a, b, y); }

    public void Mul(Tensor a, Tensor b, Tensor y) { BackendContract.Binary(nameof(Mul), Device, a, b, y); Binary<MulOp>(a, b, y); }

    private interface IBinaryOp
    {
        static abstract Vector<float> Apply(Vector<float> a, Vector<float> b);
        static abstract float Apply(float a, float b);
    }

    private readonly struct AddOp : IBinaryOp
    {
        public static Vector<float> Apply(Vector<float> a, Vector<float> b) => a + b;
        public static float Apply(float a, float b) => a + b;
    }

    private readonly struct MulOp : IBinaryOp
    {
        public static Vector<float> Apply(Vector<float> a, Vector<float> b) => a * b;
        public static float Apply(float a, float b) => a * b;
    }

    /// <summary>y = op(a, b) elementwise: vectorised body, scalar tail, parallel chunks.</summary>
    private void Binary<TOp>(Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    {
        float[] da = Data(a), db = Data(b), dy = Data(y);
        ForChunks(y.Numel, ParallelGrain, (s, e) =>
        {
            var va = da.AsSpan(s, e - s); var vb = db.AsSpan(s, e - s); var vy = dy.AsSpan(s, e - s);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var xa = MemoryMarshal.Cast<float, Vector<float>>(va);
                var xb = MemoryMarshal.Cast<float, Vector<float>>(vb);
                var xy = MemoryMarshal.Cast<float, Vector<float>>(vy);
                for (int v = 0; v < xy.Length; v++) xy[v] = TOp.Apply(xa[v], xb[v]);
                i = xy.Length * Vector<float>.Count;
            }
            for (; i < vy.Length; i++) vy[i] = TOp.Apply(va[i], vb[i]);
        });
    }

    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        BackendContract.Unary(nameof(Axpy), Device, x, y);
        float[] dx = Data(x), dy = Data(y);
        ForChunks(y.Numel, ParallelGrain, (s, e) => AxpySpan(alpha, dx.AsSpan(s, e - s), dy.AsSpan(s, e - s)));
    }

    public void Scale(Tensor x, float alpha, Tensor y)
    {
        BackendContract.Unary(nameof(Scale), Device, x, y);
        float[] dx = Data(x), dy = Data(y);
        ForChunks(y.Numel, ParallelGrain, (s, e) =>
        {
            var vx = dx.AsSpan(s, e - s); var vy = dy.AsSpan(s, e - s);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var a = new Vector<float>(alpha);
                var xx = MemoryMarshal.Cast<float, Vector<float>>(vx);
                var xy = MemoryMarshal.Cast<float, Vector<float>>(vy);
                for (int v = 0; v < xy.Length; v++) xy[v] = xx[v] * a;
                i = xy.Length * Vector<float>.Count;
            }
            for (; i < vy.Length; i++) vy[i] = vx[i] * alpha;
        });
    }

    /// <summary>Sum in double; chunk partial sums are combined in a fixed order, so the result does not depend on threading.</summary>
    public double Sum(Tensor x)
    {
        BackendContract.Sum(Device, x);
        float[] dx = Data(x);
        int n = x.Numel;
        int chunks = (n + ParallelGrain - 1) / ParallelGrain;
        var partial = new double[Math.Max(1, chunks)];
        ForChunks(n, ParallelGrain, (s, e) => partial[s / ParallelGrain] = SumSpan(dx.AsSpan(s, e - s)));
        double total = 0;
        foreach (var p in partial) total += p;
        return total;
    }
}
