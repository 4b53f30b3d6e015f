using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpikeEngine.Backend.Cpu;

// Event-driven (spike-driven) convolution forward for sparse inputs.
// After an IF layer a layer's input is 0 or θ, and most of it is 0 (firing rates of 5–35 %). A sample whose non-zero
// inputs take at most four values (levels: θ for spikes; θ/4 … θ after a 2×2 average pool of spikes; λ/4 … λ out of
// a QCFS unit with L = 4 in training) and are fewer than the break-even count (a cost model, below) skips the dense
// kernel: its convolution is a sparse × dense product, y[k, p] = Σ a_l · w[k, c, r, s] over the non-zero inputs
// (c, h, w), of level l, that feed output position p through tap (r, s). Two phases:
// 1. Lists. Per sample, each input row's non-zero pattern as a bit mask (64 bits: a row and its padding), and with
//    several levels two more masks per row for the bits of each input's level index; per output position, 16 input
//    channels at a time and per tap (r, s), the channels whose input under the tap is non-zero are one 16-bit mask (a
//    test of the shifted row masks of the 16 channels), and a vector compression of the taps' weight offsets (with the
//    level index in their two low bits) by it stores their list entries: no branch per event. A position's entries
//    are cut into channel blocks, and a sample's lists are stored block by block (positions in order inside each), the
//    order in which the gather reads them. (Until 3 Dec 2026 evening each level had its own lists: its own listing pass
//    over every channel and its own list segments, about twice the fixed cost of a spike sample's at four levels.)
// 2. Gather. The weights are packed in blocks of 32 output channels ([block][tap][32], cache-line aligned; 16 when
//    K ≤ 16, 64 when K ≥ 128) and a work item takes one block and a range of positions. It walks the channel blocks
//    (128 channels' taps; 64 for 64-channel blocks) and, per position, adds the weight rows of its listed taps times
//    their level into registers (four independent FMA chains, each product a_l · w rounded as the dense kernel rounds
//    it; a spike sample's level in a register, a several-level sample's looked up per entry), the running sums of the
//    range kept in a scratch between channel blocks. The weights of a block are read from L1/L2 by every
//    position of the range, not from memory per event: an earlier scatter form (each event adding its weights to
//    every output it feeds) read a 512-channel layer's 18 KB of weights per event from L3 and was bandwidth-bound.
// Samples whose non-zero inputs take more values (pooled QCFS outputs, analog inputs) take the scatter form instead
// (CpuBackend.ConvEventsScatter.cs) when it pays. Same sums as the dense path in another order. Samples are chosen one by one (a batch of T·B time steps mixes dense
// and sparse ones); batches with no sparse sample take the dense path unchanged.
public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// When the event path is taken: never, by the cost models, for every sample under <see cref="EventMaxDensity"/>
    /// (tests and probes), or as ByDensity but every spike sample by the table form (CpuBackend.ConvEventsTable.cs).
    /// </summary>
    internal enum EventChoice { Off, Auto, ByDensity, Tables }

    internal static EventChoice EventPath { get; set; } = EventChoice.Auto;

    /// <summary>Upper bound on the non-zero share of a sample that may take the event path.</summary>
    internal static double EventMaxDensity { get; set; } = 0.5;

    /// <summary>Kernels up to 3×3 (one channel's taps of a position fit a 9-bit mask) and rows that fit a 64-bit mask with their padding.</summary>
    internal static bool EventGeometry(Conv2dGeometry g) => g.R <= 3 && g.S <= 3 && g.W + g.PadW <= 63 && g.PadW < g.S && g.PadH < g.R;

    /// <summary>
    /// Output channels per packed weight block: 16 when the layer has no more, 64 from 128 on (four vectors per list
    /// entry: half the list walks and segments per multiply-add; COS VGG-16's gather ~10 % cheaper against the lists and
    /// the GEMM in its own profile; whole `cosloop vgg16` runs on a loaded host faster in two of three alternations,
    /// 3 Dec 2026; ResNet-20's 64-channel layers, tried too, were no faster, and keep 32).
    /// </summary>
    private static int EventKBlock(int k) => k <= 16 ? 16 : k < 128 ? 32 : 64;

    /// <summary>
    /// Input channels per channel block: 128 for 32-channel weight blocks (their 3×3 taps take 144 KB, read from L2), 64
    /// for 64-channel ones, 256 for 16-channel ones. Blocks of 16 to 256 channels measured within 15 % of each other on VGG-16's layers; longer
    /// list segments (fewer loop exits per position) outweigh keeping a block's weights in L1: on the 2-core EPYC, 128
    /// instead of 64 made VGG-16's 128-channel 16×16 layer ~8 % faster by events (`bench -- sparsepaths vgg16 0.15 15`,
    /// three alternations, 3 Dec 2026) and the whole COS VGG-16 case of `bench -- compare` ~5 % (two alternations).
    /// Layers of at most 64 channels (ResNet-20) have one block either way.
    /// </summary>
    private static int EventCBlock(int kb) => 4096 / kb;

    /// <summary>
    /// The largest non-zero count at which one sample whose non-zeros take <paramref name="levels"/> values is cheaper
    /// by events than by another form that costs <paramref name="otherNs"/> (the dense kernels, <see cref="DenseSampleNs"/>;
    /// the table form for spikes), from a cost model. Its unit is the dense kernels' cost fitted on a 2-core AMD EPYC
    /// Zen 5 (`bench -- sparsepaths`, batch 128, process CPU time): 0.012 ns per multiply-add (direct) or 0.0125 (im2col
    /// + GEMM). The event path's terms were fitted again for the compressing lister and the register transposition on
    /// the 2-core EPYC Zen 4 (single-thread wall time per sample, rates 0.05 and 0.25, ResNet-20's and VGG-16's layer
    /// shapes; its dense kernel ran at 0.020–0.022 ns per multiply-add there, so its times are scaled by 0.57): each
    /// input costs <see cref="EventInputNs"/> (its count, values and bit masks), each output position
    /// <see cref="EventListNs"/> per input and output channel (lists, the final transposition) and
    /// <see cref="EventRowNs"/> per weight block and channel block (a list segment), and each listed tap
    /// <see cref="EventVectorNs"/> per 16 output channels; a sample with several values more
    /// (<see cref="EventIndexedListFactor"/>). (A safety margin, events only below 0.8 of the dense cost, made whole COS
    /// ResNet-20 and VGG-16 runs slower: the model rather overestimates the event path.)
    /// </summary>
    private static long EventBreakEven(Conv2dGeometry g, int levels, double otherNs)
    {
        long densityLimit = (long)(EventMaxDensity * g.C * g.H * g.W);
        if (EventPath != EventChoice.Auto) return densityLimit;
        double positions = (double)g.OutH * g.OutW;
        int kb = EventKBlock(g.K), kBlocks = (g.K + kb - 1) / kb, cBlocks = (g.C + EventCBlock(kb) - 1) / EventCBlock(kb);
        // several values: three bit planes to list from, and each entry's value looked up
        double listFactor = levels > 1 ? EventIndexedListFactor : 1, entryFactor = levels > 1 ? EventIndexedEntryFactor : 1;
        double fixedNs = (double)g.C * g.H * g.W * EventInputNs + positions * ((g.C * listFactor + g.K) * EventListNs + kBlocks * cBlocks * EventRowNs);
        double perInputNs = (double)g.R * g.S / (g.StrideH * g.StrideW) * kBlocks * (kb / 16) * EventVectorNs * entryFactor;
        long modelLimit = (long)((otherNs - fixedNs) / perInputNs);
        return Math.Min(modelLimit, densityLimit);
    }

    private const double EventInputNs = 0.17, EventListNs = 0.35, EventRowNs = 13, EventVectorNs = 0.28;

    /// <summary>
    /// A sample whose non-zeros take several values against a spike sample, per listed channel and per entry (its list
    /// entries carry the value's index): `bench -- sparsepaths vgg16 all 3 [pooled]` on the 128- and 256-channel layers
    /// (Zen 4, 3 Dec 2026), rates 0.02–0.45: about twice the lists' cost, 1.25 times the gather's per entry.
    /// </summary>
    private const double EventIndexedListFactor = 2, EventIndexedEntryFactor = 1.25;

    /// <summary>
    /// What one sample costs by the dense kernels in the event cost models: its multiply-adds, and on the im2col path its
    /// column matrix (<see cref="Im2ColNsPerColumn"/> an element: ResNet-20's stride-2 16→32 layer, a small GEMM behind a
    /// large im2col, measured twice its multiply-adds' cost on the Zen 4).
    /// </summary>
    private static double DenseSampleNs(Conv2dGeometry g, bool direct)
    {
        double columns = (double)g.OutH * g.OutW * g.C * g.R * g.S;
        if (UseWinograd(g)) return columns * g.K * WinogradNsPerMac;
        return direct ? columns * g.K * DirectNsPerMac : columns * (g.K * Im2ColNsPerMac + Im2ColNsPerColumn);
    }

    /// <summary>The Winograd path's cost per multiply-add of the direct form: <see cref="DirectNsPerMac"/> / 1.45, its
    /// measured advantage on VGG-16's layers (`bench -- convpaths`, Zen 4: 1.28–1.64×, see <see cref="UseWinograd"/>).</summary>
    private const double WinogradNsPerMac = DirectNsPerMac / 1.45;

    private const double Im2ColNsPerColumn = 0.4;

    /// <summary>The dense kernels' cost per multiply-add in the event cost models (direct; im2col + GEMM).</summary>
    private const double DirectNsPerMac = 0.012, Im2ColNsPerMac = 0.0125;

    /// <summary>Runs the forward convolution with events for the sparse samples; false when no sample is sparse enough.</summary>
    private unsafe bool TryConv2dForwardEvents(float[] xd, float[] wd, float[]? bd, float[] yd, Conv2dGeometry g)
    {
        if (EventPath == EventChoice.Off || !Vector512.IsHardwareAccelerated || g.N == 0 || !EventGeometry(g)) return false;
        int inSize = g.C * g.H * g.W;
        bool winograd = UseWinograd(g), direct = !winograd && UseDirectConv(g);
        // spike samples take the table form where it beats the dense kernel and the gather form at their count
        double denseNs = DenseSampleNs(g, direct), tableNs = EventPath == EventChoice.Auto ? TableSampleNs(g) : 0;
        bool tables = EventPath == EventChoice.Tables || (EventPath == EventChoice.Auto && tableNs < denseNs);
        // gather limits by the number of distinct non-zero values (levels: 1 for spikes, up to 4 after an average pool
        // of spikes or a QCFS unit with L = 4), against the table form for spikes where it is used
        var limits = new long[MaxEventLevels + 1];
        for (int l = 1; l <= MaxEventLevels; l++) limits[l] = EventBreakEven(g, l, l == 1 && tables ? tableNs : denseNs);
        limits[0] = limits[1];   // an all-zero sample: no lists at all
        long scatterLimit = ScatterBreakEven(g, direct);
        long countTo = tables ? long.MaxValue : Math.Max(limits.Max(), scatterLimit);
        if (countTo <= 0) return false;
        // per sample: table (spikes, where it pays), gather (at most MaxEventLevels distinct non-zero values, count under
        // that many levels' limit), scatter (under the scatter limit, values that differ more), or dense
        var levels = new float[g.N * MaxEventLevels];   // the sample's non-zero values, ascending
        var levelCount = new int[g.N];                   // how many; -1: not gathered
        var nonZero = new int[g.N];
        var scatter = new bool[g.N];
        var table = new bool[g.N];
        ForEach(g.N, n =>
        {
            var x = xd.AsSpan(n * inSize, inSize);
            var (count, found) = NonZeroCensus(x, countTo, levels.AsSpan(n * MaxEventLevels, MaxEventLevels));
            table[n] = tables && found == 1 && (EventPath == EventChoice.Tables || count >= limits[1]);
            bool gather = !table[n] && found >= 0 && count < limits[found];
            (nonZero[n], levelCount[n]) = gather ? ((int)count, found) : (0, -1);
            scatter[n] = !gather && !table[n] && count < scatterLimit;
        });
        var sparseSamples = Enumerable.Range(0, g.N).Where(n => levelCount[n] >= 0).ToArray();
        var scatterSamples = Enumerable.Range(0, g.N).Where(n => scatter[n]).ToArray();
        var tableSamples = Enumerable.Range(0, g.N).Where(n => table[n]).ToArray();
        if (sparseSamples.Length == 0 && scatterSamples.Length == 0 && tableSamples.Length == 0) return false;
        _eventSamples += sparseSamples.Length + scatterSamples.Length + tableSamples.Length;
        _gatherSamples += sparseSamples.Length;
        _tableSamples += tableSamples.Length;
        // one table per spike value (in a network, one per layer: its IF neurons' θ)
        var tableValues = tableSamples.Select(n => levels[n * MaxEventLevels]).Distinct().ToArray();
        var tablesAt = (nint)BuildSpikeTables(wd, g, tableValues);
        long tableFloats = SpikeTableFloats(g);

        using var lists = EventLists.Build(this, xd, g, sparseSamples, levels, levelCount, nonZero);
        int kb = lists.KBlock, kBlocks = (g.K + kb - 1) / kb, taps = g.C * g.R * g.S;
        // packed[block][tap][kb]: one block's weights contiguous (a strided slice of a [tap][K] layout would map
        // 512-channel layers onto a few cache sets)
        float* packed = sparseSamples.Length > 0 ? EventPackedBuffer((long)kBlocks * taps * kb) : null;   // none when every sparse sample scatters

        var dense = Enumerable.Range(0, g.N).Where(n => levelCount[n] < 0 && !scatter[n] && !table[n]).ToArray();
        // the scatter form reads wt[tap][kv]: one tap's weights over the output channels, zero-padded to whole vectors
        int kv = (g.K + 15) / 16 * 16, outSize = g.K * g.OutH * g.OutW;
        float[]? wt = null;
        (int[] Pairs, int[] Count) rowReach = default, colReach = default;
        if (scatterSamples.Length > 0)
        {
            wt = ArrayPool<float>.Shared.Rent(taps * kv);
            TransposeWeights(wd, g.K, taps, wt, kv);
            rowReach = EventReach(g.H, g.OutH, g.R, g.StrideH, g.PadH);
            colReach = EventReach(g.W, g.OutW, g.S, g.StrideW, g.PadW);
        }
        float[]? densePacked = null;
        int[]? offsets = null;
        DirectOutputMap? map = null;
        int kp = (g.K + DirectKb - 1) / DirectKb * DirectKb;
        if (direct && dense.Length > 0) { densePacked = PackDirectWeights(wd, g); offsets = DirectForwardOffsets(g); map = new DirectOutputMap(g); }
        // The dense samples on the im2col path go in chunks (as in Conv2dForward): one GEMM per sample would have as
        // few columns as the feature map has positions (4 or 16 in VGG-16's deep layers), too few for the GEMM's tiles.
        // (On the Winograd path the dense samples go together after the sparse work, in blocks of tiles of their own.)
        int[][] denseItems = winograd ? [] : direct ? dense.Select(n => new[] { n }).ToArray() : dense.Chunk(ConvPlan(g).PerChunk).ToArray();
        using var packedW = direct ? null : PackConvWeights(wd, g, denseItems.Length, 1, transposed: false);
        // Sparse work: weight blocks × position ranges (a range's running sums fit a 256 KB scratch), enough to keep every thread busy.
        int rows = lists.Rows, maxRange = EventScratchFloats / kb;
        int ranges = rows == 0 ? 0 : Math.Max((rows + maxRange - 1) / maxRange, Math.Min(rows, (2 * Threads + kBlocks - 1) / kBlocks));
        int sparseItems = kBlocks * ranges, scatterItems = scatterSamples.Length, tableItems = tableSamples.Length;
        try
        {
            var packedAt = (nint)packed;
            if (rows > 0) ForEach(kBlocks, b => TransposeWeights(wd.AsSpan(b * kb * taps), Math.Min(kb, g.K - b * kb), taps, new Span<float>((float*)packedAt + (long)b * taps * kb, taps * kb), kb));
            ForEach(sparseItems + scatterItems + tableItems + denseItems.Length, item =>
            {
                if (item < sparseItems)
                {
                    int b = item / ranges, r = item % ranges;
                    lists.Gather((float*)packedAt, b, (int)((long)rows * r / ranges), (int)((long)rows * (r + 1) / ranges), bd, yd, g);
                    return;
                }
                if ((item -= sparseItems) < scatterItems)
                {
                    int n = scatterSamples[item];
                    ScatterSample(xd, n * inSize, wt!, kv, bd, yd, n * outSize, g, rowReach, colReach);
                    return;
                }
                if ((item -= scatterItems) < tableItems)
                {
                    int n = tableSamples[item];
                    float a = levels[n * MaxEventLevels];
                    TableSample(xd, n * inSize, a, g, (float*)tablesAt + Array.IndexOf(tableValues, a) * tableFloats, bd, yd, n * outSize);
                    return;
                }
                item -= tableItems;
                if (direct) DirectForwardSample(xd, densePacked!, kp, offsets!, map!, bd, yd, g, denseItems[item][0], 0, kp / DirectKb);
                else Im2ColForwardChunk(xd, wd, bd, yd, g, denseItems[item], 1, packedW);
            });
            if (winograd && dense.Length > 0) Conv2dForwardWinograd(xd, wd, bd, yd, g, dense);
        }
        finally
        {
            if (densePacked is not null) ArrayPool<float>.Shared.Return(densePacked);
            if (wt is not null) ArrayPool<float>.Shared.Return(wt);
        }
        return true;
    }

    private const int EventScratchFloats = 1 << 16;

    [ThreadStatic] private static float[]? _eventPacked;

    /// <summary>Samples that took the event path in convolutions called from this thread (tests check that a path they mean to test was taken).</summary>
    internal static long EventSamples => _eventSamples;
    [ThreadStatic] private static long _eventSamples;

    /// <summary>Of <see cref="EventSamples"/>, those that took the gather form (the others scattered).</summary>
    internal static long GatherSamples => _gatherSamples;
    [ThreadStatic] private static long _gatherSamples;

    /// <summary>Distinct non-zero values a sample may have and still gather (their index takes the list entries' two low bits).</summary>
    internal const int MaxEventLevels = 4;

    /// <summary>The calling thread's buffer for the packed weights (<see cref="AlignedThreadBuffer"/>).</summary>
    private static float* EventPackedBuffer(long floats) => AlignedThreadBuffer(ref _eventPacked, floats, "The packed weights of the event path");

    /// <summary>
    /// A thread's buffer of at least <paramref name="floats"/> floats, aligned to cache lines (a weight row is then 1 or 2
    /// whole lines: half the loads of a split row) and kept between calls (a fresh 9 MB buffer per call costs its page faults).
    /// </summary>
    private static float* AlignedThreadBuffer(ref float[]? buffer, long floats, string what)
    {
        if (floats + 16 > Array.MaxLength) throw new InvalidOperationException($"{what} ({floats} floats) exceed an array.");
        // pinned (never moved), so the aligned address inside it stays valid
        if (buffer is null || buffer.Length < floats + 16) buffer = GC.AllocateUninitializedArray<float>((int)floats + 16, pinned: true);
        var at = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((at + 63) & ~(nint)63);
    }

    /// <summary>
    /// How many elements of x are non-zero (counting stops once <paramref name="stopAt"/> is reached), and its distinct
    /// non-zero values into <paramref name="levels"/> (ascending) with how many there are (spikes: one, θ; 0 when all
    /// are zero), or −1 for the values when there are more than fit, a NaN (which equals nothing), or the count stopped.
    /// One pass: each vector compared with zero and with the values found so far.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (long Count, int Found) NonZeroCensus(ReadOnlySpan<float> x, long stopAt, Span<float> levels)
    {
        long count = 0;
        int found = 0, i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            var v = Vector512.LoadUnsafe(ref Unsafe.AsRef(in x[i]));
            var zero = Vector512.Equals(v, Vector512<float>.Zero);
            count += 16 - BitOperations.PopCount(zero.ExtractMostSignificantBits());
            if ((i & 1023) == 0 && count >= stopAt) return (count, -1);
            var known = zero;
            while (found >= 0)
            {
                for (int l = 0; l < found; l++) known |= Vector512.Equals(v, Vector512.Create(levels[l]));
                uint unknown = ~(uint)known.ExtractMostSignificantBits() & 0xFFFF;
                if (unknown == 0) break;
                float a = x[i + BitOperations.TrailingZeroCount(unknown)];
                if (found == levels.Length || float.IsNaN(a)) { found = -1; break; }
                levels[found++] = a;
            }
        }
        for (; i < x.Length; i++)
        {
            float a = x[i];
            if (a == 0f) continue;
            count++;
            if (found < 0 || levels[..found].Contains(a)) continue;
            if (found == levels.Length || float.IsNaN(a)) found = -1;
            else levels[found++] = a;
        }
        if (count >= stopAt) return (count, -1);
        if (found > 0) levels[..found].Sort();
        return (count, found);
    }

    [ThreadStatic] private static float[]? _eventSums;
    [ThreadStatic] private static ulong[]? _rowMasks;

    /// <summary>Rows (padded plane) and channel stride (C rounded up to 16) of <see cref="FillRowMasks"/>'s layout.</summary>
    private static (int Rows, int ChannelStride) RowMaskShape(Conv2dGeometry g) => (g.H + 2 * g.PadH, (g.C + 15) & ~15);

    /// <summary>
    /// One sample's input as bit masks in planes: plane 0 has bit padW + w of rowMasks[(padH + h)·cp + c] set when x[c, h, w]
    /// is non-zero (one of <paramref name="values"/>); with more than one value, planes 1 and 2 (at + hp·cp and + 2·hp·cp)
    /// hold bits 0 and 1 of the value's index. Rows above and below (the padding) are zero. A row's channels lie side by
    /// side (cp: C rounded up to 16, the extra channels zero) so that 16 channels' masks load as two vectors
    /// (<see cref="RowWindow"/>). The calling thread's buffer, valid until its next call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe ulong[] FillRowMasks(float[] xd, int xOffset, Conv2dGeometry g, ReadOnlySpan<float> values)
    {
        int h = g.H, w = g.W, nl = values.Length, planes = MaskPlanes(nl);
        var (hp, cp) = RowMaskShape(g);
        int planeRows = hp * cp;
        if (_rowMasks is null || _rowMasks.Length < planes * planeRows) _rowMasks = GC.AllocateUninitializedArray<ulong>(planes * planeRows, pinned: true);
        _rowMasks.AsSpan(0, planes * planeRows).Clear();
        fixed (float* px = xd)
        fixed (ulong* rowMasks = _rowMasks)
        {
            // the plane's bits 16 at a time (rows narrower than 16 share a vector), one pass over the input for all
            // values: each vector compared with every value, the bits dealt out to the planes' rows
            int plane = h * w;
            var level = stackalloc Vector512<float>[MaxEventLevels];
            var bits = stackalloc uint[3];
            for (int l = 0; l < nl; l++) level[l] = Vector512.Create(values[l]);
            if (w % 16 == 0)
            {
                // whole vectors per row (ResNet-20's and VGG-16's 32- and 16-wide planes): each row's masks in registers, stored once
                for (int c = 0; c < g.C; c++)
                {
                    float* x = px + xOffset + c * plane;
                    ulong* rows = rowMasks + g.PadH * cp + c;
                    for (int row = 0; row < h; row++, x += w)
                    {
                        ulong nonZero = 0, bit0 = 0, bit1 = 0;
                        for (int w0 = 0; w0 < w; w0 += 16)
                        {
                            var v = Vector512.Load(x + w0);
                            for (int l = 0; l < nl; l++)
                            {
                                ulong m = (ulong)LevelBits(v, level[l]) << w0;
                                nonZero |= m;
                                if ((l & 1) != 0) bit0 |= m;
                                if ((l & 2) != 0) bit1 |= m;
                            }
                        }
                        rows[row * cp] = nonZero << g.PadW;
                        if (planes == 1) continue;
                        rows[planeRows + row * cp] = bit0 << g.PadW;
                        rows[2 * planeRows + row * cp] = bit1 << g.PadW;
                    }
                }
                return _rowMasks;
            }
            for (int c = 0; c < g.C; c++)
            {
                float* x = px + xOffset + c * plane;
                ulong* rows = rowMasks + g.PadH * cp + c;   // plane k's row h at + k · planeRows + h · cp
                int row = 0, col = 0;
                for (int i0 = 0; i0 < plane; i0 += 16)
                {
                    int lanes = Math.Min(16, plane - i0);
                    bits[0] = bits[1] = bits[2] = 0;
                    var v = plane >= 16 ? Vector512.Load(lanes == 16 ? x + i0 : x + plane - 16) : default;   // a partial last vector: the last 16, overlapping
                    for (int l = 0; l < nl; l++)
                    {
                        uint m = plane >= 16 ? LevelBits(v, level[l]) >> (16 - lanes) : LevelBitsScalar(x + i0, lanes, values[l]);
                        bits[0] |= m;
                        if ((l & 1) != 0) bits[1] |= m;
                        if ((l & 2) != 0) bits[2] |= m;
                    }
                    while (lanes > 0)
                    {
                        int take = Math.Min(lanes, w - col);
                        uint takeMask = (uint)((1ul << take) - 1);
                        for (int k = 0; k < planes; k++)
                        {
                            rows[k * planeRows + row * cp] |= (ulong)(bits[k] & takeMask) << (col + g.PadW);
                            bits[k] >>= take;
                        }
                        lanes -= take;
                        if ((col += take) == w) { col = 0; row++; }
                    }
                }
            }
        }
        return _rowMasks;
    }

    /// <summary>Bit planes of <see cref="FillRowMasks"/>: non-zero, and with several values the two bits of the value's index.</summary>
    private static int MaskPlanes(int values) => values > 1 ? 3 : 1;

    /// <summary>Bit i set when x[i] equals the level (16 lanes).</summary>
    private static uint LevelBits(Vector512<float> x, Vector512<float> level) => (uint)Vector512.ExtractMostSignificantBits(Vector512.Equals(x, level)) & 0xFFFF;

    private static uint LevelBitsScalar(float* x, int lanes, float level)
    {
        uint m = 0;
        for (int l = 0; l < lanes; l++) if (x[l] == level) m |= 1u << l;
        return m;
    }

    /// <summary>16 channels' mask row (at <paramref name="row"/>, 16 consecutive ulongs) shifted right by an output column's offset and narrowed to 32-bit lanes (the low S ≤ 3 bits are the taps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> RowWindow(ulong* row, int shift)
        => Avx512F.PermuteVar16x32x2((Vector512.Load(row) >>> shift).AsInt32(), Vector512<int>.Indices * 2, (Vector512.Load(row + 8) >>> shift).AsInt32());

    /// <summary>
    /// The event lists of the sparse samples of one convolution (pooled arrays, returned by Dispose). Row q = j·P + p is
    /// output position p of sparse sample j; its entries for channel block cb are Entries[Start[i] .. Start[i + 1]],
    /// i = j·(CB·P + 1) + cb·P + p, each the offset of a tap (c, r, s) with a non-zero input in a packed weight block,
    /// ((c·R + r)·S + s) · kb, plus, for a sample whose non-zeros take several values, the index of the input's value in
    /// its low two bits (kb is a multiple of 16, so they are free): one list for all values, whose entries find their
    /// value in a table of four. A sample's lists go channel block by channel block, its positions in order inside each,
    /// so that the gather, which walks one channel block over a run of positions at a time, reads them front to back
    /// (in position-major order it read a segment and skipped the other blocks' segments, and the hardware prefetcher
    /// did not follow: each segment began with a miss to memory).
    /// </summary>
    private sealed class EventLists : IDisposable
    {
        private readonly int[] _samples, _start, _entries, _valueCount;
        private readonly float[] _values;   // [j·MaxEventLevels + l]: sample j's value l (0 where it has fewer)
        private readonly int _positions, _cBlocks;

        public int KBlock { get; }
        public int Rows => _samples.Length * _positions;

        private EventLists(int[] samples, float[] values, int[] valueCount, int[] start, int[] entries, int positions, int cBlocks, int kBlock)
        {
            (_samples, _values, _valueCount, _start, _entries, _positions, _cBlocks, KBlock) = (samples, values, valueCount, start, entries, positions, cBlocks, kBlock);
        }

        public static EventLists Build(CpuBackend cpu, float[] xd, Conv2dGeometry g, int[] samples, float[] levels, int[] levelCount, int[] nonZero)
        {
            int positions = g.OutH * g.OutW, kb = EventKBlock(g.K), cb = EventCBlock(kb), cBlocks = (g.C + cb - 1) / cb, rs = g.R * g.S;
            int inSize = g.C * g.H * g.W, sampleStarts = cBlocks * positions + 1;
            // each non-zero input feeds at most R·S positions: a sample's entries fit nnz·R·S (+ 16 for the last full-vector store)
            var bases = new long[samples.Length + 1];
            for (int j = 0; j < samples.Length; j++) bases[j + 1] = bases[j] + (long)nonZero[samples[j]] * rs + 16;
            if (bases[^1] > Array.MaxLength) throw new InvalidOperationException($"Event lists of {bases[^1]} entries exceed an array; the convolution {g} is too large for the event path.");
            var entries = ArrayPool<int>.Shared.Rent((int)bases[^1]);
            var start = ArrayPool<int>.Shared.Rent(samples.Length * sampleStarts);
            var values = new float[samples.Length * MaxEventLevels];
            var valueCount = new int[samples.Length];
            for (int j = 0; j < samples.Length; j++)
            {
                valueCount[j] = levelCount[samples[j]];
                levels.AsSpan(samples[j] * MaxEventLevels, valueCount[j]).CopyTo(values.AsSpan(j * MaxEventLevels));
            }
            cpu.ForEach(samples.Length, j => ListSample(xd, samples[j] * inSize, g, kb, cb, values.AsSpan(j * MaxEventLevels, valueCount[j]),
                entries, (int)bases[j], start, j * sampleStarts));
            return new EventLists(samples, values, valueCount, start, entries, positions, cBlocks, kb);
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(_start);
            ArrayPool<int>.Shared.Return(_entries);
        }

        /// <summary>
        /// One sample's lists: the rows' bit masks of its non-zero inputs (and of their values' indices), then per channel
        /// block, position and 16 channels one compression per tap. A sample with no non-zero input gets empty lists.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static unsafe void ListSample(float[] xd, int xOffset, Conv2dGeometry g, int kb, int cb, ReadOnlySpan<float> values,
            int[] entries, int entryBase, int[] start, int startBase)
        {
            int rs = g.R * g.S, shiftKb = BitOperations.Log2((uint)kb);
            var (hp, cp) = RowMaskShape(g);
            int planeRows = hp * cp;
            bool indexed = values.Length > 1;
            var rowMaskArray = FillRowMasks(xd, xOffset, g, values);
            // per tap (r, s): lane i holds the offset of channel i's tap in a packed weight block, ((i·R + r)·S + s)·kb
            var tapOffsets = stackalloc Vector512<int>[rs];
            var bitOf = stackalloc Vector512<int>[g.S];
            for (int t = 0; t < rs; t++) tapOffsets[t] = (Vector512<int>.Indices * rs + Vector512.Create(t)) << shiftKb;
            for (int s = 0; s < g.S; s++) bitOf[s] = Vector512.Create(1 << s);
            var groupStep = Vector512.Create((16 * rs) << shiftKb);
            fixed (int* pe = entries, ps = start)
            fixed (ulong* rowMasks = rowMaskArray)
            {
                int* e = pe + entryBase, st = ps + startBase;
                for (int c0 = 0; c0 < g.C; c0 += cb)
                {
                    int c1 = Math.Min(g.C, c0 + cb);
                    for (int i = 0; i < g.OutH; i++)
                    {
                        int r0 = i * g.StrideH;   // the kernel's rows are r0 … r0 + R − 1 of the padded plane
                        for (int j = 0; j < g.OutW; j++)
                        {
                            int shift = j * g.StrideW;
                            *st++ = (int)(e - pe);
                            if (values.Length == 0) continue;
                            ulong* rm = rowMasks + r0 * cp + c0;
                            var groupBase = Vector512.Create((c0 * rs) << shiftKb);
                            // 16 channels at a time, tap by tap: the channels whose input under the tap is non-zero
                            for (int c = c0; c < c1; c += 16, rm += 16, groupBase += groupStep)
                            {
                                var tapOffset = tapOffsets;
                                for (int r = 0; r < g.R; r++)
                                {
                                    var window = RowWindow(rm + r * cp, shift);
                                    Vector512<int> bit0 = default, bit1 = default;
                                    if (indexed) (bit0, bit1) = (RowWindow(rm + planeRows + r * cp, shift), RowWindow(rm + 2 * planeRows + r * cp, shift));
                                    for (int s = 0; s < g.S; s++, tapOffset++)
                                    {
                                        var bit = bitOf[s];
                                        var set = Vector512.Equals(window & bit, bit);
                                        var entry = *tapOffset + groupBase;
                                        // the value's index: bit s of each index plane, to bits 0 and 1
                                        if (indexed) entry |= ((bit0 & bit) >>> s) | (((bit1 & bit) >>> s) << 1);
                                        Avx512F.Compress(default, set, entry).Store(e);
                                        e += BitOperations.PopCount(set.ExtractMostSignificantBits());
                                    }
                                }
                            }
                        }
                    }
                }
                *st = (int)(e - pe);
            }
        }

        /// <summary>y[n, b·kb .. +kb, p] (+ bias) for rows q0 ≤ q &lt; q1, from packed weight block b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public unsafe void Gather(float* packed, int b, int q0, int q1, float[]? bd, float[] yd, Conv2dGeometry g)
        {
            if (KBlock == 16) GatherBlock<OneVector>(packed, b, q0, q1, bd, yd, g);
            else if (KBlock == 32) GatherBlock<TwoVectors>(packed, b, q0, q1, bd, yd, g);
            else GatherBlock<FourVectors>(packed, b, q0, q1, bd, yd, g);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void GatherBlock<TWidth>(float* packed, int b, int q0, int q1, float[]? bd, float[] yd, Conv2dGeometry g) where TWidth : struct, IEventWidth
        {
            int kb = KBlock, positions = _positions, sampleStarts = _cBlocks * positions + 1, taps = g.C * g.R * g.S, k0 = b * kb, kn = Math.Min(kb, g.K - k0);
            var sums = ThreadBuffer(ref _eventSums, (q1 - q0) * kb + 16);   // pinned: aligned below
            fixed (float* py = yd, pb = bd, pSums0 = sums, pValues = _values)
            fixed (int* ps = _start, pe = _entries)
            {
                float* pSums = (float*)(((nint)pSums0 + 63) & ~(nint)63), wb = packed + (long)b * taps * kb;
                for (int cBlock = 0; cBlock < _cBlocks; cBlock++)
                {
                    float* sum = pSums;
                    // a run of each sample's positions at a time, by the form of its entries
                    for (int j = q0 / positions, q = q0; q < q1; j++)
                    {
                        int run = Math.Min(positions, q1 - j * positions) - (q - j * positions);
                        var lists = new GatherRun(ps + j * sampleStarts + cBlock * positions + (q - j * positions), 1, pe, wb, pValues + j * MaxEventLevels);
                        if (TWidth.Vectors == 4)
                        {
                            if (_valueCount[j] > 1) GatherPositionsWide<IndexedValues>(lists, run, sum, cBlock == 0);
                            else GatherPositionsWide<OneValue>(lists, run, sum, cBlock == 0);
                        }
                        else if (_valueCount[j] > 1) GatherPositions<TWidth, IndexedValues>(lists, run, sum, kb, cBlock == 0);
                        else GatherPositions<TWidth, OneValue>(lists, run, sum, kb, cBlock == 0);
                        q += run;
                        sum += run * kb;
                    }
                }
                // sums[q][kb] → y[n, k0 + k, p] per sample (a run of its positions), + bias
                for (int j = q0 / positions, q = q0; q < q1; j++)
                {
                    int p0 = q - j * positions, pEnd = Math.Min(positions, q1 - j * positions);
                    TransposeToChannels(pSums + (q - q0) * kb, kb, pb == null ? null : pb + k0,
                        py + ((long)_samples[j] * g.K + k0) * positions + p0, positions, kn, pEnd - p0);
                    q += pEnd - p0;
                }
            }
        }
    }

    /// <summary>The lists of a run of rows (one sample's positions and a channel block; a linear layer's rows and an input
    /// chunk): row i's entries are Entries[Start[i·Stride] .. Start[i·Stride + 1]]; Weights is the packed weight block,
    /// Values the sample's four values, or (<see cref="EntryValues"/>) one value per entry, beside Entries.</summary>
    private readonly unsafe struct GatherRun(int* start, int stride, int* entries, float* weights, float* values)
    {
        public readonly int* Start = start, Entries = entries;
        public readonly int Stride = stride;
        public readonly float* Weights = weights, Values = values;
    }

    /// <summary>
    /// Adds, for each row of the run, the weight rows of its listed entries times their value into the running sums
    /// (kb floats a row: four independent FMA chains per vector, one would be bound by the FMA latency; each product
    /// a · w rounded as the dense kernel rounds it). The first pass starts the sums from zero. (The convolution's and
    /// the linear layer's event forms share it.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GatherPositions<TWidth, TValues>(GatherRun lists, int run, float* sum, int kb, bool first)
        where TWidth : struct, IEventWidth where TValues : struct, IEventValues
    {
        float* wb = lists.Weights, values = lists.Values;
        var a = Vector512.Create(values[0]);   // the one value of a spike sample
        for (int i = 0; i < run; i++, sum += kb)
        {
            Vector512<float> s0 = first ? default : Vector512.LoadAligned(sum), s1 = first || !TWidth.Two ? default : Vector512.LoadAligned(sum + 16);
            Vector512<float> t0 = default, t1 = default, u0 = default, u1 = default, v0 = default, v1 = default;
            int* e = lists.Entries + lists.Start[i * lists.Stride], end = lists.Entries + lists.Start[i * lists.Stride + 1];
            float* ev = TValues.Kind == EntryValues.Kind ? values + (e - lists.Entries) : null;   // the entries' own values
            for (; e + 4 <= end; e += 4, ev += 4)
            {
                float* wt = wb + Offset<TValues>(e[0]), wu = wb + Offset<TValues>(e[1]), wv = wb + Offset<TValues>(e[2]), ww = wb + Offset<TValues>(e[3]);
                var at = Value<TValues>(a, values, e[0], ev);
                var au = Value<TValues>(a, values, e[1], ev + 1);
                var av = Value<TValues>(a, values, e[2], ev + 2);
                var aw = Value<TValues>(a, values, e[3], ev + 3);
                s0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt), at, s0);
                t0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wu), au, t0);
                u0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wv), av, u0);
                v0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(ww), aw, v0);
                if (TWidth.Two)
                {
                    s1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 16), at, s1);
                    t1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wu + 16), au, t1);
                    u1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wv + 16), av, u1);
                    v1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(ww + 16), aw, v1);
                }
            }
            for (; e < end; e++, ev++)
            {
                float* wt = wb + Offset<TValues>(*e);
                var at = Value<TValues>(a, values, *e, ev);
                s0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt), at, s0);
                if (TWidth.Two) s1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 16), at, s1);
            }
            s0 += (t0 + u0) + v0;
            if (TWidth.Two) s1 += (t1 + u1) + v1;
            s0.StoreAligned(sum);
            if (TWidth.Two) s1.StoreAligned(sum + 16);
        }
    }

    /// <summary>As <see cref="GatherPositions{TWidth, TValues}"/> for blocks of 64 output channels: four vectors an entry,
    /// two entries a step (eight FMA chains), a lone last entry on the first four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GatherPositionsWide<TValues>(GatherRun lists, int run, float* sum, bool first) where TValues : struct, IEventValues
    {
        float* wb = lists.Weights, values = lists.Values;
        var a = Vector512.Create(values[0]);
        for (int i = 0; i < run; i++, sum += 64)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            if (!first) (s0, s1, s2, s3) = (Vector512.LoadAligned(sum), Vector512.LoadAligned(sum + 16), Vector512.LoadAligned(sum + 32), Vector512.LoadAligned(sum + 48));
            Vector512<float> t0 = default, t1 = default, t2 = default, t3 = default;
            int* e = lists.Entries + lists.Start[i * lists.Stride], end = lists.Entries + lists.Start[i * lists.Stride + 1];
            float* ev = TValues.Kind == EntryValues.Kind ? values + (e - lists.Entries) : null;
            for (; e + 2 <= end; e += 2, ev += 2)
            {
                float* wt = wb + Offset<TValues>(e[0]), wu = wb + Offset<TValues>(e[1]);
                var at = Value<TValues>(a, values, e[0], ev);
                var au = Value<TValues>(a, values, e[1], ev + 1);
                s0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt), at, s0);
                s1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 16), at, s1);
                s2 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 32), at, s2);
                s3 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 48), at, s3);
                t0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wu), au, t0);
                t1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wu + 16), au, t1);
                t2 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wu + 32), au, t2);
                t3 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wu + 48), au, t3);
            }
            if (e < end)
            {
                float* wt = wb + Offset<TValues>(*e);
                var at = Value<TValues>(a, values, *e, ev);
                s0 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt), at, s0);
                s1 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 16), at, s1);
                s2 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 32), at, s2);
                s3 = Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(wt + 48), at, s3);
            }
            (s0 + t0).StoreAligned(sum);
            (s1 + t1).StoreAligned(sum + 16);
            (s2 + t2).StoreAligned(sum + 32);
            (s3 + t3).StoreAligned(sum + 48);
        }
    }

    /// <summary>An entry's weight row offset (an indexed entry carries its value's index in its two low bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Offset<TValues>(int entry) where TValues : struct, IEventValues => TValues.Kind == IndexedValues.Kind ? entry & ~3 : entry;

    /// <summary>An entry's value, broadcast: the run's one value, the indexed one of its four, or the entry's own.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Value<TValues>(Vector512<float> one, float* values, int entry, float* own) where TValues : struct, IEventValues
        => TValues.Kind == IndexedValues.Kind ? Vector512.Create(values[entry & 3]) : TValues.Kind == EntryValues.Kind ? Vector512.Create(*own) : one;

    /// <summary>How list entries give their value: one value for all (spikes), an index in their low two bits into four
    /// (a several-level sample), or a value of their own beside them (a linear layer's inputs).</summary>
    private interface IEventValues { static abstract int Kind { get; } }
    private struct OneValue : IEventValues { public static int Kind => 0; }
    private struct IndexedValues : IEventValues { public static int Kind => 1; }
    private struct EntryValues : IEventValues { public static int Kind => 2; }

    /// <summary>Vectors of 16 output channels per weight row: 1, 2 (<see cref="GatherPositions"/>) or 4 (<see cref="GatherPositionsWide"/>).</summary>
    private interface IEventWidth { static abstract int Vectors { get; } static abstract bool Two { get; } }
    private struct OneVector : IEventWidth { public static int Vectors => 1; public static bool Two => false; }
    private struct TwoVectors : IEventWidth { public static int Vectors => 2; public static bool Two => true; }
    private struct FourVectors : IEventWidth { public static int Vectors => 4; public static bool Two => false; }
}
