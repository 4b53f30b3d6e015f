using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Spiking neuron kernels (METHOD.md §3–4).
//
// Arithmetic is float32 throughout and in the order of tools/reference/cos_reference.py, so spike
// trains match the reference bit for bit when fed the same pre-activations:
//   I = z / θ  (a true division, as the spec writes it; z · (1/θ) would round differently),
//   v = v + I;  s = v ≥ 1;  v = v − s;  output = θ · s (θ or 0 exactly).
// The COS shift is computed as v₀ ← v_start − max(1, u_min − 0.999f) (one spike too many) or
// v_start + max(1, 1.001f − w_max) (one too few), with v_start = 0.5 on the first iteration and the
// previous v₀ on later ones (the "iterative property", option k).
//
// One kernel body serves every lane width: it is generic over a small lane interface with
// Vector512, Vector256 and scalar implementations (the JIT specialises each; the scalar one handles
// tails). Threads split the neurons (batch × features) into contiguous chunks.
public sealed partial class CpuBackend
{
    /// <summary>Neurons per parallel work item (a multiple of every lane width).</summary>
    private const int NeuronChunk = 1024;

    public void IfNeuronForward(Tensor input, int steps, float threshold, int presimSteps, int iterations,
        Tensor output, Tensor? initialPotential)
    {
        BackendContract.IfNeuronForward(Device, input, steps, threshold, presimSteps, iterations, output, initialPotential);
        int neurons = input.Numel / steps;

        var x = ((CpuStorage)input.Storage).Data;
        var y = ((CpuStorage)output.Storage).Data;
        var v0 = initialPotential is null ? null : ((CpuStorage)initialPotential.Storage).Data;
        var p = new NeuronParams(neurons, steps, threshold, presimSteps, iterations);

        int chunks = (neurons + NeuronChunk - 1) / NeuronChunk;
        if (chunks == 1 || Threads <= 1)
            ForwardRange(x, y, v0, p, 0, neurons);
        else
            Parallel.For(0, chunks, ParallelOptions, c =>
            {
                int start = c * NeuronChunk;
                ForwardRange(x, y, v0, p, start, Math.Min(neurons, start + NeuronChunk));
            });
    }

    public void IfNeuronStep(Tensor input, float threshold, Tensor membrane, Tensor output)
    {
        BackendContract.IfNeuronStep(Device, input, threshold, membrane, output);
        var x = ((CpuStorage)input.Storage).Data;
        var v = ((CpuStorage)membrane.Storage).Data;
        var y = ((CpuStorage)output.Storage).Data;
        int n = input.Numel;
        int chunks = (n + NeuronChunk - 1) / NeuronChunk;
        if (chunks == 1 || Threads <= 1)
            StepRange(x, v, y, threshold, 0, n);
        else
            Parallel.For(0, chunks, ParallelOptions, c =>
            {
                int start = c * NeuronChunk;
                StepRange(x, v, y, threshold, start, Math.Min(n, start + NeuronChunk));
            });
    }

    private readonly record struct NeuronParams(int Neurons, int Steps, float Threshold, int Presim, int Iterations);

    // Optimized from the first call: the IF layers of a short run (the `snn` command) otherwise spend most of their
    // time in tier-0 code, ForwardLanes and its Lanes512 helpers not inlined (perf on COS VGG-16: 3 Dec 2026).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRange(float[] x, float[] y, float[]? v0, NeuronParams p, int start, int end)
    {
        int j = start;
        if (Vector512.IsHardwareAccelerated)
            for (; j + Lanes512.Width <= end; j += Lanes512.Width) ForwardLanes<Lanes512, Vector512<float>>(x, y, v0, p, j);
        if (Vector256.IsHardwareAccelerated)
            for (; j + Lanes256.Width <= end; j += Lanes256.Width) ForwardLanes<Lanes256, Vector256<float>>(x, y, v0, p, j);
        for (; j < end; j++) ForwardLanes<Lanes1, float>(x, y, v0, p, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StepRange(float[] x, float[] v, float[] y, float threshold, int start, int end)
    {
        int j = start;
        if (Vector512.IsHardwareAccelerated)
            for (; j + Lanes512.Width <= end; j += Lanes512.Width) StepLanes<Lanes512, Vector512<float>>(x, v, y, threshold, j);
        if (Vector256.IsHardwareAccelerated)
            for (; j + Lanes256.Width <= end; j += Lanes256.Width) StepLanes<Lanes256, Vector256<float>>(x, v, y, threshold, j);
        for (; j < end; j++) StepLanes<Lanes1, float>(x, v, y, threshold, j);
    }

    /// <summary>Pre-simulation, COS shift (k times) and simulation for the lane of neurons starting at j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardLanes<L, V>(float[] x, float[] y, float[]? v0Out, NeuronParams p, int j)
        where L : struct, ILanes<V>
    {
        var one = L.Broadcast(1f);
        var zero = L.Broadcast(0f);
        var theta = L.Broadcast(p.Threshold);
        var v0 = L.Broadcast(0.5f);
        if (p.Presim > 0)
        {
            var marginDown = L.Broadcast(0.999f);
            var marginUp = L.Broadcast(1.001f);
            for (int it = 0; it < p.Iterations; it++)
            {
                var v = v0;
                var count = zero;
                var uMin = L.Broadcast(float.MaxValue);
                var wMax = L.Broadcast(-1000f);
                for (int t = 0; t < p.Presim; t++)
                {
                    // the first pass divides and parks I = z/θ in y (its lines are written by the simulation anyway);
                    // later iterations and the simulation's first ρ steps reload it: one division per step, not k + 1
                    int at = t * p.Neurons + j;
                    V input;
                    if (it == 0) L.Store(y, at, input = L.Div(L.Load(x, at), theta));
                    else input = L.Load(y, at);
                    v = L.Add(v, input);
                    var spike = L.GreaterOrEqual(v, one);
                    uMin = L.Select(spike, L.Min(uMin, v), uMin);
                    wMax = L.Select(spike, wMax, L.Max(wMax, v));
                    var s = L.And(spike, one);
                    count = L.Add(count, s);
                    v = L.Sub(v, s);
                }
                var tooMany = L.And(L.LessThan(v, zero), L.GreaterThan(count, zero));
                var tooFew = L.GreaterOrEqual(v, one);
                var down = L.Sub(v0, L.Max(one, L.Sub(uMin, marginDown)));
                var up = L.Add(v0, L.Max(one, L.Sub(marginUp, wMax)));
                v0 = L.Select(tooMany, down, L.Select(tooFew, up, v0));
            }
        }
        if (v0Out is not null) L.Store(v0Out, j, v0);
        var m = v0;
        for (int t = 0; t < p.Steps; t++)
        {
            int at = t * p.Neurons + j;
            m = L.Add(m, t < p.Presim ? L.Load(y, at) : L.Div(L.Load(x, at), theta));
            var spike = L.GreaterOrEqual(m, one);
            m = L.Sub(m, L.And(spike, one));
            L.Store(y, at, L.And(spike, theta));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StepLanes<L, V>(float[] x, float[] membrane, float[] y, float threshold, int j)
        where L : struct, ILanes<V>
    {
        var one = L.Broadcast(1f);
        var theta = L.Broadcast(threshold);
        var m = L.Add(L.Load(membrane, j), L.Div(L.Load(x, j), theta));
        var spike = L.GreaterOrEqual(m, one);
        L.Store(membrane, j, L.Sub(m, L.And(spike, one)));
        L.Store(y, j, L.And(spike, theta));
    }

    /// <summary>The few lane operations the neuron kernels need; comparisons return all-ones/zero masks.</summary>
    private interface ILanes<V>
    {
        static abstract V Broadcast(float value);
        static abstract V Load(float[] a, int index);
        static abstract void Store(float[] a, int index, V value);
        static abstract V Add(V a, V b);
        static abstract V Sub(V a, V b);
        static abstract V Div(V a, V b);
        static abstract V Min(V a, V b);
        static abstract V Max(V a, V b);
        static abstract V GreaterOrEqual(V a, V b);
        static abstract V GreaterThan(V a, V b);
        static abstract V LessThan(V a, V b);
        static abstract V And(V mask, V value);
        static abstract V Select(V mask, V ifTrue, V ifFalse);
    }

    private readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public const int Width = 16;
        public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
        public static Vector512<float> Load(float[] a, int index) => Vector512.LoadUnsafe(ref a[index]);
        public static void Store(float[] a, int index, Vector512<float> value) => value.StoreUnsafe(ref a[index]);
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
        public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
        public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
        public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
        public static Vector512<float> GreaterOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(a, b);
        public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
        public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
        public static Vector512<float> And(Vector512<float> mask, Vector512<float> value) => mask & value;
        public static Vector512<float> Select(Vector512<float> mask, Vector512<float> ifTrue, Vector512<float> ifFalse) => Vector512.ConditionalSelect(mask, ifTrue, ifFalse);
    }

    private readonly struct Lanes256 : ILanes<Vector256<float>>
    {
        public const int Width = 8;
        public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
        public static Vector256<float> Load(float[] a, int index) => Vector256.LoadUnsafe(ref a[index]);
        public static void Store(float[] a, int index, Vector256<float> value) => value.StoreUnsafe(ref a[index]);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
        public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
        public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
        public static Vector256<float> GreaterOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(a, b);
        public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
        public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
        public static Vector256<float> And(Vector256<float> mask, Vector256<float> value) => mask & value;
        public static Vector256<float> Select(Vector256<float> mask, Vector256<float> ifTrue, Vector256<float> ifFalse) => Vector256.ConditionalSelect(mask, ifTrue, ifFalse);
    }

    /// <summary>One neuron at a time (tails); masks are the all-ones bit pattern, as in the vector lanes.</summary>
    private readonly struct Lanes1 : ILanes<float>
    {
        private static readonly float AllOnes = BitConverter.Int32BitsToSingle(-1);
        public static float Broadcast(float value) => value;
        public static float Load(float[] a, int index) => a[index];
        public static void Store(float[] a, int index, float value) => a[index] = value;
        public static float Add(float a, float b) => a + b;
        public static float Sub(float a, float b) => a - b;
        public static float Div(float a, float b) => a / b;
        public static float Min(float a, float b) => MathF.Min(a, b);
        public static float Max(float a, float b) => MathF.Max(a, b);
        public static float GreaterOrEqual(float a, float b) => a >= b ? AllOnes : 0f;
        public static float GreaterThan(float a, float b) => a > b ? AllOnes : 0f;
        public static float LessThan(float a, float b) => a < b ? AllOnes : 0f;
        public static float And(float mask, float value) =>
            BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(mask) & BitConverter.SingleToInt32Bits(value));
        public static float Select(float mask, float ifTrue, float ifFalse) => BitConverter.SingleToInt32Bits(mask) != 0 ? ifTrue : ifFalse;
    }
}
