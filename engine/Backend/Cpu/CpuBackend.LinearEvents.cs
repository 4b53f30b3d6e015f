using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// Sparse-input fully connected forward, two forms beside the dense GEMM (a cost model picks, from one census of the batch):
// - Active columns. Only the features that are non-zero in some row contribute, so the GEMM runs on those columns:
//   y = x[:, S] · w[:, S]ᵀ (+ bias), with the active set S gathered from x and w. It pays when whole features are
//   silent over the batch; behind an IF layer with T·B rows firing at 5–20 % nearly every feature fires somewhere.
// - Events, per row. Each row's non-zero inputs (index and value) are listed; per block of 32 outputs the weights are
//   transposed to [input][32] (one input's outputs contiguous), and each row adds the weight rows of its listed inputs
//   times their values into registers (the convolution's gather, CpuBackend.ConvEvents.cs: four FMA chains per vector),
//   1,024 inputs at a time (128 KB of weights, read from L2). A row firing at 15 % does 15 % of its multiply-adds. The
//   transposition reads every weight once per call, as the GEMM's packing does (a third of the event form's time on
//   VGG-16's 4,096 × 4,096 layer at 15 %).
// Both give the dense products summed in another order over the non-zero terms only (a zero input adds ±0).
public sealed partial class CpuBackend
{
    /// <summary>Share of active input features above which gathering columns costs more than it saves.</summary>
    private const double LinearMaxActiveShare = 0.75;

    /// <summary>
    /// The event form's cost model, per call, in the unit of the convolution models (<see cref="Im2ColNsPerMac"/> per
    /// multiply-add of the GEMM, the dense form's cost), fitted with `bench -- sparsepaths fc` (2-core EPYC Zen 4, batch 128,
    /// VGG-16's classifier shapes, rates 0–0.45; its GEMM ran at ≈ 0.026 ns per multiply-add there, so its times are
    /// scaled by 0.48): each input element costs <see cref="LinearEventInputNs"/> (the lists; the census is paid either
    /// way), each weight <see cref="LinearEventWeightNs"/> (its transposition), each listed input
    /// <see cref="LinearEventVectorNs"/> per 16 outputs (break-even near rate 0.5 for 4,096 → 4,096).
    /// </summary>
    private const double LinearEventInputNs = 0.05, LinearEventWeightNs = 0.25, LinearEventVectorNs = 0.32;

    /// <summary>Outputs per event block: a transposed block of 4,096 inputs takes 512 KB.</summary>
    private const int LinearEventBlock = 32;

    private bool TryLinearForwardSparse(float[] xd, float[] wd, float[]? bd, float[] yd, int n, int inF, int outF)
    {
        if (EventPath == EventChoice.Off || n == 0 || inF < 64) return false;
        // one pass: the non-zeros of each row (NaN counts: it must reach the sums) and the OR of the rows' bit
        // patterns down each column (zero exactly where the feature is +0 in every row)
        var rowNonZero = new int[n];
        int[] seen = ArrayPool<int>.Shared.Rent(inF);
        try
        {
            var seenSpan = seen.AsSpan(0, inF);
            seenSpan.Clear();
            var xi = MemoryMarshal.Cast<float, int>(xd.AsSpan(0, n * inF));
            for (int r = 0; r < n; r++) rowNonZero[r] = OrIntoCountingNonZero(xi.Slice(r * inF, inF), seenSpan);
            int activeColumns = 0;
            for (int i = 0; i < inF; i++) if (seenSpan[i] != 0) activeColumns++;
            long nonZero = 0;
            for (int r = 0; r < n; r++) nonZero += rowNonZero[r];
            double denseNs = (double)n * inF * outF * Im2ColNsPerMac;
            double columnsNs = activeColumns > LinearMaxActiveShare * inF || n < 2 ? double.MaxValue : (double)n * activeColumns * outF * Im2ColNsPerMac;
            bool events = Vector512.IsHardwareAccelerated && (EventPath == EventChoice.Auto
                ? LinearEventNs(n, inF, outF, nonZero) < Math.Min(denseNs, columnsNs)
                : nonZero <= EventMaxDensity * n * inF);
            if (events)
            {
                LinearForwardEvents(xd, wd, bd, yd, n, inF, outF, rowNonZero);
                _linearEventCalls++;
                return true;
            }
            if (columnsNs == double.MaxValue) return false;
            LinearForwardActiveColumns(xd, wd, bd, yd, n, inF, outF, seenSpan, activeColumns);
            return true;
        }
        finally { ArrayPool<int>.Shared.Return(seen); }
    }

    /// <summary>Fully connected forwards by events called from this thread (tests check that the path they test was taken).</summary>
    internal static long LinearEventCalls => _linearEventCalls;
    [ThreadStatic] private static long _linearEventCalls;

    private static double LinearEventNs(int n, int inF, int outF, long nonZero)
        => (double)n * inF * LinearEventInputNs + (double)inF * outF * LinearEventWeightNs + nonZero * ((outF + 15) / 16) * LinearEventVectorNs;

    private void LinearForwardActiveColumns(float[] xd, float[] wd, float[]? bd, float[] yd, int n, int inF, int outF, ReadOnlySpan<int> seen, int count)
    {
        if (count == 0)
        {
            for (int r = 0; r < n; r++)
            {
                var row = yd.AsSpan(r * outF, outF);
                if (bd is null) row.Clear(); else bd.AsSpan(0, outF).CopyTo(row);
            }
            return;
        }
        int[] active = ArrayPool<int>.Shared.Rent(count);
        float[] xa = ArrayPool<float>.Shared.Rent(n * count), wa = ArrayPool<float>.Shared.Rent(outF * count);
        try
        {
            for (int i = 0, j = 0; i < inF; i++) if (seen[i] != 0) active[j++] = i;
            ForEach(n, r => { for (int j = 0; j < count; j++) xa[r * count + j] = xd[r * inF + active[j]]; });
            ForChunks(outF, 64, (o0, o1) =>
            {
                for (int o = o0; o < o1; o++)
                    for (int j = 0; j < count; j++) wa[o * count + j] = wd[o * inF + active[j]];
            });
            GemmArrays(false, true, n, outF, count, 1f, xa, 0, count, wa, 0, count, 0f, yd, 0, outF, Threads);
            if (bd is not null) ForEach(n, r => AxpySpan(1f, bd.AsSpan(0, outF), yd.AsSpan(r * outF, outF)));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(active);
            ArrayPool<float>.Shared.Return(xa);
            ArrayPool<float>.Shared.Return(wa);
        }
    }

    /// <summary>acc[i] |= row[i]; returns how many row[i] are not ±0 (as floats).</summary>
    private static int OrIntoCountingNonZero(ReadOnlySpan<int> row, Span<int> acc)
    {
        int i = 0, count = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var magnitude = Vector512.Create(int.MaxValue);
            for (; i + 16 <= row.Length; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(row), (nuint)i);
                (Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(acc), (nuint)i) | v).StoreUnsafe(ref MemoryMarshal.GetReference(acc), (nuint)i);
                count += 16 - BitOperations.PopCount(Vector512.Equals(v & magnitude, Vector512<int>.Zero).ExtractMostSignificantBits());
            }
        }
        for (; i < row.Length; i++)
        {
            acc[i] |= row[i];
            if ((row[i] & int.MaxValue) != 0) count++;
        }
        return count;
    }

    /// <summary>y = x · wᵀ (+ bias) by events, row r having <paramref name="count"/>[r] non-zero inputs.</summary>
    private unsafe void LinearForwardEvents(float[] xd, float[] wd, float[]? bd, float[] yd, int n, int inF, int outF, int[] count)
    {
        // row r's list at start[r]: the earlier rows' lists, each with 16 entries of slack for its last full-vector store
        var start = new int[n];
        long total = 0;
        for (int r = 0; r < n; r++)
        {
            start[r] = (int)total;
            total += count[r] + 16;
        }
        if (total > Array.MaxLength) throw new InvalidOperationException($"The event lists of a linear layer ({total} entries) exceed an array.");
        int chunks = (inF + LinearEventChunk - 1) / LinearEventChunk;
        int[] index = ArrayPool<int>.Shared.Rent((int)total), bounds = ArrayPool<int>.Shared.Rent(n * (chunks + 1));
        float[] value = ArrayPool<float>.Shared.Rent((int)total);
        try
        {
            int ob = outF <= 16 ? 16 : LinearEventBlock, blocks = (outF + ob - 1) / ob;
            ForEach(n, r => ListRow(xd, r * inF, inF, ob, index, value, start[r], bounds, r * (chunks + 1)));
            // enough items for every thread: blocks, each over a range of the rows when the blocks are few
            int ranges = Math.Max(1, Math.Min(n, (2 * Threads + blocks - 1) / blocks));
            ForEach(blocks * ranges, item =>
            {
                int b = item / ranges, range = item % ranges, o0 = b * ob, kn = Math.Min(ob, outF - o0);
                float* wt = AlignedThreadBuffer(ref _linearPacked, (long)inF * ob, "The transposed weights of the event-driven linear layer");
                TransposeWeights(wd.AsSpan(o0 * inF), kn, inF, new Span<float>(wt, inF * ob), ob);
                int r0 = (int)((long)n * range / ranges), r1 = (int)((long)n * (range + 1) / ranges);
                float* sums = AlignedThreadBuffer(ref _linearSums, (long)(r1 - r0) * ob, "The running sums of the event-driven linear layer");
                var rows = new LinearEventRows(index, value, bounds, chunks, r0, r1);
                if (ob == 16) GatherLinearRows<OneVector>(wt, rows, sums, bd, o0, kn, yd, outF);
                else GatherLinearRows<TwoVectors>(wt, rows, sums, bd, o0, kn, yd, outF);
            });
        }
        finally
        {
            ArrayPool<int>.Shared.Return(index);
            ArrayPool<int>.Shared.Return(bounds);
            ArrayPool<float>.Shared.Return(value);
        }
    }

    /// <summary>
    /// Inputs per chunk of the transposed weights that one pass over the rows reads: a block's 32 outputs × 1,024 inputs
    /// take 128 KB, within L2 whatever the layer's width (a whole block of 25,088 inputs would take 3.2 MB). On VGG-16's
    /// 4,096-input layers whole blocks (512 KB) measured the same (`bench -- sparsepaths fc`).
    /// </summary>
    private const int LinearEventChunk = 1024;

    [ThreadStatic] private static float[]? _linearPacked, _linearSums;

    /// <summary>The lists of rows r0 ≤ r &lt; r1: row r's entries of chunk c are [Bounds[r·(Chunks + 1) + c], Bounds[r·(Chunks + 1) + c + 1]).</summary>
    private readonly record struct LinearEventRows(int[] Index, float[] Value, int[] Bounds, int Chunks, int R0, int R1);

    /// <summary>
    /// Row x[offset .. offset + inF)'s non-zero inputs: their weight rows' offsets (index · <paramref name="ob"/>) and values from <paramref name="at"/> on (16 at a
    /// time, compressed in registers and stored whole: up to 16 entries past the list are overwritten), and where each
    /// chunk of <see cref="LinearEventChunk"/> inputs begins in them (and where they end) at bounds[boundsAt ..].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ListRow(float[] xd, int offset, int inF, int ob, int[] index, float[] value, int at, int[] bounds, int boundsAt)
    {
        fixed (float* px = xd, pv = value)
        fixed (int* pi = index)
        {
            float* x = px + offset;
            int* i1 = pi + at;
            float* v1 = pv + at;
            int i = 0;
            var indices = Vector512<int>.Indices * ob;
            for (; i + 16 <= inF; i += 16)
            {
                if (i % LinearEventChunk == 0) bounds[boundsAt + i / LinearEventChunk] = (int)(i1 - pi);
                var v = Vector512.Load(x + i);
                var nonZero = ~Vector512.Equals(v, Vector512<float>.Zero);   // NaN is listed
                Avx512F.Compress(default, nonZero.AsInt32(), indices + Vector512.Create(i * ob)).Store(i1);
                Avx512F.Compress(default, nonZero, v).Store(v1);
                int count = BitOperations.PopCount(nonZero.ExtractMostSignificantBits());
                i1 += count;
                v1 += count;
            }
            if (i < inF && i % LinearEventChunk == 0) bounds[boundsAt + i / LinearEventChunk] = (int)(i1 - pi);
            for (; i < inF; i++)
                if (x[i] != 0f || float.IsNaN(x[i])) { *i1++ = i * ob; *v1++ = x[i]; }
            bounds[boundsAt + (inF + LinearEventChunk - 1) / LinearEventChunk] = (int)(i1 - pi);
        }
    }

    /// <summary>
    /// y[r, o0 .. o0 + kn) for the rows from the block's transposed weights wt[input][16 or 32], chunk by chunk by the
    /// convolution's gather (<see cref="GatherPositions{TWidth, TValues}"/>, the rows' running sums in <paramref name="sums"/>),
    /// then the bias.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GatherLinearRows<TWidth>(float* wt, LinearEventRows rows, float* sums, float[]? bd, int o0, int kn, float[] yd, int outF)
        where TWidth : struct, IEventWidth
    {
        int ob = TWidth.Two ? 32 : 16, stride = rows.Chunks + 1;
        var tail = stackalloc float[32];
        var bias = stackalloc float[32];
        for (int k = 0; k < 32; k++) bias[k] = bd is not null && k < kn ? bd[o0 + k] : 0f;
        fixed (int* pi = rows.Index, pBounds = rows.Bounds)
        fixed (float* pv = rows.Value, py = yd)
        {
            for (int c = 0; c < rows.Chunks; c++)
                GatherPositions<TWidth, EntryValues>(new GatherRun(pBounds + rows.R0 * stride + c, stride, pi, wt, pv), rows.R1 - rows.R0, sums, ob, c == 0);
            float* sum = sums;
            for (int r = rows.R0; r < rows.R1; r++, sum += ob)
            {
                // as the dense path: the products' sum, then the bias
                var s0 = Vector512.LoadAligned(sum) + Vector512.Load(bias);
                var s1 = TWidth.Two ? Vector512.LoadAligned(sum + 16) + Vector512.Load(bias + 16) : default;
                float* y = py + (long)r * outF + o0;
                if (kn == ob)
                {
                    s0.Store(y);
                    if (TWidth.Two) s1.Store(y + 16);
                    continue;
                }
                s0.Store(tail);
                s1.Store(tail + 16);
                for (int k = 0; k < kn; k++) y[k] = tail[k];
            }
        }
    }
}
