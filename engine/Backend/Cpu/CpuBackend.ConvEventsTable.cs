using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// The event path's table form, for spike samples (every non-zero input has one value a) of layers with few input
// channels: ResNet-20's 16-channel stage, where the gather form's lists cost more per output position than the
// multiply-adds they save (16 channels × 9 taps per position, 15 % of them set, leave ~22 events to list and add).
// Spikes are bits. For each tap (r, s) and eight input channels, the 256 patterns those eight inputs can show have 256
// partial sums Σ a·w[k, c, r, s] over the set channels (a vector per 16 output channels), tabulated once per call
// (288 KB for 16 channels in and out: read from L2, each 64-byte row one cache line, the tables being aligned to
// lines). An output position then adds one table row per tap and eight channels: C·R·S/8 vector additions per 16 output
// channels instead of the dense C·R·S multiply-adds, whatever the firing rate. (Four channels per row, 16 patterns,
// kept the table in L1 but made twice the additions and index computations: no faster than the dense kernel.) A
// sample's spikes first become per-pixel channel masks, already scaled to table-row offsets (FillChannelMasks), so a
// row is one load and one addition away. Same products as the dense path (a·w, each entering its sum in an FMA), summed
// in another order. Each output row's channels-last sums are transposed into y while in L1, as the scatter form
// transposes its scratch.
public sealed partial class CpuBackend
{
    /// <summary>
    /// What one sample costs by the table form, in the unit of the event cost models (<see cref="DenseSampleNs"/>):
    /// <see cref="TableInputNs"/> per input (its non-zero count and values, its channel mask), per output position
    /// <see cref="TableAddNs"/> per tap, eight input channels and 16 output channels (a table row added) and
    /// <see cref="TableOutputNs"/> per output (sum stored, transposed into y), and the call's tables (1 a row) shared by
    /// its N samples. Fitted on the 2-core AMD EPYC Zen 4 (single-thread wall time per sample) and scaled to the model's
    /// dense unit as the event terms are (×0.57); <see cref="TableAddNs"/> refitted (0.77 → 0.44) once the rows were
    /// aligned to cache lines: `bench -- sparsepaths resnet20 0.15 5`, 16-channel 32×32 layer, tables 7.4–8.3 → 5.4 ms
    /// (two alternations of both builds, 3 Dec 2026). Tables over <see cref="TableMaxBytes"/> are not used: their rows
    /// come from further out (ResNet-20's 16→32 stride-2 layer, 576 KB: aligned, ~1.5× the time per row of its
    /// 16-channel layers and no faster than events, 3.8–4.5 against 4.1–4.6 ms; its 32-channel layers, 1.2 MB: slower
    /// than events, 6.1–6.5 against 5.7).
    /// </summary>
    private static double TableSampleNs(Conv2dGeometry g)
    {
        double positions = (double)g.OutH * g.OutW, patterns = (g.C + 15) / 16 * g.R * g.S, kBlocks = (g.K + 15) / 16;
        double rows = patterns * 2 * kBlocks;
        if (rows * 256 * 16 * sizeof(float) > TableMaxBytes) return double.PositiveInfinity;
        return (double)g.C * g.H * g.W * TableInputNs + positions * (rows * TableAddNs + g.K * TableOutputNs) + rows * 256 * 1.0 / g.N;
    }

    private const double TableInputNs = 0.17, TableAddNs = 0.44, TableOutputNs = 0.18;
    private const int TableMaxBytes = 320 << 10;

    /// <summary>Floats of one pattern's table in one weight block: two halves of 8 channels, 256 rows of 16.</summary>
    private const int TableFloats = 2 * 256 * 16;

    /// <summary>Samples that took the table form in convolutions called from this thread (tests check it was taken).</summary>
    internal static long TableSamples => _tableSamples;
    [ThreadStatic] private static long _tableSamples;

    [ThreadStatic] private static float[]? _tableOut;

    /// <summary>Floats of one spike value's table: <see cref="TableFloats"/> per pattern and weight block.</summary>
    private static long SpikeTableFloats(Conv2dGeometry g) => (long)(g.K + 15) / 16 * ((g.C + 15) / 16 * g.R * g.S) * TableFloats;

    [ThreadStatic] private static float[]? _spikeTables;

    /// <summary>
    /// The tables of one call, one per spike value in <paramref name="values"/> (<see cref="SpikeTableFloats"/> apart), in
    /// the calling thread's buffer, aligned to cache lines (valid until its next call; null when there are none). Aligned,
    /// a table row (16 floats) is one cache line; at the 16-byte alignment of a pooled array every row read from L2 took two
    /// (`cosloop resnet20` alternating both run by run in one process, 3 Dec 2026: best 55.0–55.4 against 61.8–65.8 ms).
    /// </summary>
    private static unsafe float* BuildSpikeTables(float[] wd, Conv2dGeometry g, float[] values)
    {
        if (values.Length == 0) return null;
        long floats = SpikeTableFloats(g);
        float* tables = AlignedThreadBuffer(ref _spikeTables, values.Length * floats, "The spike tables of the event path");
        for (int i = 0; i < values.Length; i++) BuildSpikeTable(wd, g, values[i], tables + i * floats);
        return tables;
    }

    /// <summary>
    /// The table of one call for spike value <paramref name="a"/>: table[((b·U + u)·2 + h)·4096 + m·16 + k] is the sum
    /// of a·w[16b + k, 16c + 8h + i, r, s] over the bits i of pattern m, for pattern u = c·R·S + r·S + s (16 input
    /// channels c at tap (r, s)), U patterns, weight block b. Built pattern by pattern: m's entry is the entry of m without its
    /// highest bit plus that bit's product (an FMA), so entries with one bit are the rounded products, as the dense
    /// kernels' first multiply-adds into zero are. (288 KB for 16 → 16 channels, every call.)
    /// </summary>
    private static unsafe void BuildSpikeTable(float[] wd, Conv2dGeometry g, float a, float* table)
    {
        int rs = g.R * g.S, taps = g.C * rs, kv = (g.K + 15) / 16 * 16, kBlocks = kv / 16, patterns = (g.C + 15) / 16 * rs;
        var wt = ArrayPool<float>.Shared.Rent(taps * kv);   // wt[(c·R·S + t)·kv + k]: one tap's output channels side by side
        TransposeWeights(wd, g.K, taps, wt, kv);
        var scale = Vector512.Create(a);
        for (int b = 0; b < kBlocks; b++)
            for (int u = 0; u < patterns; u++)
                for (int h = 0; h < 2; h++)
                {
                    int c16 = u / rs, t = u % rs;
                    var entries = new Span<float>(table + ((long)(b * patterns + u) * 2 + h) * 4096, 4096);
                    Vector512<float>.Zero.CopyTo(entries);
                    for (int m = 1; m < 256; m++)
                    {
                        int bit = 31 - BitOperations.LeadingZeroCount((uint)m), c = c16 * 16 + 8 * h + bit;
                        var below = Vector512.Create<float>(entries.Slice((m ^ (1 << bit)) * 16, 16));
                        var sum = c < g.C ? Avx512F.FusedMultiplyAdd(scale, Vector512.Create<float>(wt.AsSpan((c * rs + t) * kv + 16 * b, 16)), below) : below;
                        sum.CopyTo(entries.Slice(m * 16, 16));
                    }
                }
        ArrayPool<float>.Shared.Return(wt);
    }

    [ThreadStatic] private static uint[]? _channelMasks;

    /// <summary>
    /// One spike sample by the table form: y[n] (+ bias) from its channel masks (<see cref="FillChannelMasks"/>) and
    /// the table of its spike value a (<see cref="BuildSpikeTables"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TableSample(float[] xd, int xOffset, float value, Conv2dGeometry g, float* table, float[]? bd, float[] yd, int yOffset)
    {
        int rs = g.R * g.S, kv = (g.K + 15) / 16 * 16, kBlocks = kv / 16, patterns = (g.C + 15) / 16 * rs, positions = g.OutH * g.OutW;
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW;
        var masks = FillChannelMasks(xd, xOffset, value, g);
        var sums = ThreadBuffer(ref _tableOut, g.OutW * kv);   // one output row's sums, transposed into y while in L1
        // pattern u = (c16·R + r)·S + s of a position is the mask at this offset from its top-left tap
        var patternAt = stackalloc int[patterns];
        for (int u = 0; u < patterns; u++) patternAt[u] = (u / rs * hp + u % rs / g.S) * wp + u % g.S;
        fixed (uint* pm = masks)
        fixed (float* ps = sums, py = yd, pb = bd)
        {
            for (int i = 0; i < g.OutH; i++)
            {
                float* sum = ps;
                for (int j = 0; j < g.OutW; j++)
                {
                    uint* at = pm + i * g.StrideH * wp + j * g.StrideW;
                    // per 16 output channels one table row per pattern and eight channels, four independent sums
                    float* rows = table;
                    for (int b = 0; b < kBlocks; b++, sum += 16)
                    {
                        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
                        int v = 0;
                        for (; v + 2 <= patterns; v += 2, rows += 2 * TableFloats)
                        {
                            uint m = at[patternAt[v]], n = at[patternAt[v + 1]];
                            s0 += Vector512.Load(rows + (ushort)m);
                            s1 += Vector512.Load(rows + 4096 + (m >> 16));
                            s2 += Vector512.Load(rows + TableFloats + (ushort)n);
                            s3 += Vector512.Load(rows + TableFloats + 4096 + (n >> 16));
                        }
                        if (v < patterns)
                        {
                            uint m = at[patternAt[v]];
                            s0 += Vector512.Load(rows + (ushort)m);
                            s1 += Vector512.Load(rows + 4096 + (m >> 16));
                            rows += TableFloats;
                        }
                        ((s0 + s1) + (s2 + s3)).Store(sum);
                    }
                }
                TransposeToChannels(ps, kv, pb, py + yOffset + i * g.OutW, positions, g.K, g.OutW);
            }
        }
    }

    /// <summary>
    /// One sample's spikes as channel masks, ready as table offsets: masks[(c16·hp + padH + h)·wp + padW + w] holds,
    /// for the bits b_i (x[16·c16 + i, h, w] equals <paramref name="value"/>), the low eight bits' pattern times 16 in
    /// its low half and the high eight bits' times 16 in its high half: the offsets of their table rows (hp × wp: the
    /// padded plane, its border zero). A table row is then one load and one addition away. The calling thread's
    /// buffer, valid until its next call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe uint[] FillChannelMasks(float[] xd, int xOffset, float value, Conv2dGeometry g)
    {
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW, groups = (g.C + 15) / 16, plane = g.H * g.W;
        int length = groups * hp * wp;
        if (_channelMasks is null || _channelMasks.Length < length) _channelMasks = GC.AllocateUninitializedArray<uint>(length, pinned: true);
        _channelMasks.AsSpan(0, length).Clear();
        var level = Vector512.Create(value);
        fixed (float* px = xd)
        fixed (uint* pm = _channelMasks)
        {
            for (int c16 = 0; c16 < groups; c16++)
            {
                int channels = Math.Min(16, g.C - 16 * c16);
                float* x0 = px + xOffset + 16 * c16 * plane;
                for (int h = 0; h < g.H; h++)
                {
                    uint* row = pm + (c16 * hp + g.PadH + h) * wp + g.PadW;
                    int w0 = 0;
                    // 16 pixels of the row at a time: per channel one compare, its lanes' bit i set
                    for (; w0 + 16 <= g.W; w0 += 16)
                    {
                        var bits = Vector512<int>.Zero;
                        for (int i = 0; i < channels; i++)
                            bits |= Vector512.Equals(Vector512.Load(x0 + i * plane + h * g.W + w0), level).AsInt32() & Vector512.Create(1 << i);
                        (((bits & Vector512.Create(255)) << 4) | ((bits >> 8) << 20)).AsUInt32().Store(row + w0);
                    }
                    for (; w0 < g.W; w0++)
                    {
                        int bits = 0;
                        for (int i = 0; i < channels; i++) if (x0[i * plane + h * g.W + w0] == value) bits |= 1 << i;
                        row[w0] = (uint)((bits & 255) << 4 | (bits >> 8) << 20);
                    }
                }
            }
        }
        return _channelMasks;
    }
}
