using System.Buffers;
using System.Runtime.InteropServices;

namespace SpikeEngine.Backend.Cpu;

// Sparse-input fully connected forward. Behind an IF layer most input features of a batch of T·B time steps
// are silent in every row (deep VGG layers fire at a few %). Only the features that are non-zero in some row
// contribute, so the GEMM runs on those columns: y = x[:, S] · w[:, S]ᵀ (+ bias), with the active set S
// gathered from x and w. Same products as the dense GEMM, summed over fewer (all the non-zero) terms.
public sealed partial class CpuBackend
{
    /// <summary>Share of active input features above which gathering costs more than it saves.</summary>
    private const double LinearMaxActiveShare = 0.75;

    private bool TryLinearForwardActiveColumns(float[] xd, float[] wd, float[]? bd, float[] yd, int n, int inF, int outF)
    {
        if (EventPath == EventChoice.Off || n < 2 || inF < 64) return false;
        // OR of the bit patterns down each column: zero exactly where the feature is +0 in every row.
        int[] seen = ArrayPool<int>.Shared.Rent(inF);
        int[]? active = null;
        float[]? xa = null, wa = null;
        try
        {
            var seenSpan = seen.AsSpan(0, inF);
            seenSpan.Clear();
            var xi = MemoryMarshal.Cast<float, int>(xd.AsSpan(0, n * inF));
            for (int r = 0; r < n; r++) OrInto(xi.Slice(r * inF, inF), seenSpan);
            active = ArrayPool<int>.Shared.Rent(inF);
            int count = 0;
            for (int i = 0; i < inF; i++) if (seenSpan[i] != 0) active[count++] = i;
            if (count > LinearMaxActiveShare * inF) return false;
            if (count == 0)
            {
                for (int r = 0; r < n; r++)
                {
                    var row = yd.AsSpan(r * outF, outF);
                    if (bd is null) row.Clear(); else bd.AsSpan(0, outF).CopyTo(row);
                }
                return true;
            }
            xa = ArrayPool<float>.Shared.Rent(n * count);
            wa = ArrayPool<float>.Shared.Rent(outF * count);
            var (xaArr, waArr, act) = (xa, wa, active);
            ForEach(n, r => { for (int j = 0; j < count; j++) xaArr[r * count + j] = xd[r * inF + act[j]]; });
            ForChunks(outF, 64, (o0, o1) =>
            {
                for (int o = o0; o < o1; o++)
                    for (int j = 0; j < count; j++) waArr[o * count + j] = wd[o * inF + act[j]];
            });
            GemmArrays(false, true, n, outF, count, 1f, xa, 0, count, wa, 0, count, 0f, yd, 0, outF, Threads);
            if (bd is not null) ForEach(n, r => AxpySpan(1f, bd.AsSpan(0, outF), yd.AsSpan(r * outF, outF)));
            return true;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(seen);
            if (active is not null) ArrayPool<int>.Shared.Return(active);
            if (xa is not null) ArrayPool<float>.Shared.Return(xa);
            if (wa is not null) ArrayPool<float>.Shared.Return(wa);
        }
    }

    private static void OrInto(ReadOnlySpan<int> row, Span<int> acc)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vr = MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(row);
            var va = MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(acc);
            for (int v = 0; v < vr.Length; v++) va[v] |= vr[v];
            i = vr.Length * System.Numerics.Vector<int>.Count;
        }
        for (; i < row.Length; i++) acc[i] |= row[i];
    }
}
