using System.Numerics;
using System.Runtime.InteropServices;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Helpers shared by the kernel families: raw host arrays, work splitting, small vector loops.
public sealed partial class CpuBackend
{
    /// <summary>Elements per parallel work item for streaming kernels; smaller tensors run on one thread.</summary>
    internal const int ParallelGrain = 1 << 15;

    /// <summary>The host array behind a CPU tensor (its first Numel elements are the tensor).</summary>
    internal static float[] Data(Tensor t) => t.Storage is CpuStorage cpu
        ? cpu.Data
        : throw new ArgumentException($"{t} is not a host tensor; the CPU backend cannot use it.");

    /// <summary>
    /// Runs body(start, end) over [0, length) in chunks of about <paramref name="grain"/> items,
    /// in parallel when there is more than one chunk. Chunk bounds do not depend on the thread count,
    /// so per-chunk partial results combine deterministically.
    /// </summary>
    internal void ForChunks(int length, int grain, Action<int, int> body)
    {
        if (length <= 0) return;
        int chunks = (length + grain - 1) / grain;
        if (chunks <= 1 || Threads <= 1)
        {
            for (int c = 0; c < chunks; c++) body(c * grain, Math.Min(length, (c + 1) * grain));
            return;
        }
        Parallel.For(0, chunks, ParallelOptions, c => body(c * grain, Math.Min(length, (c + 1) * grain)));
    }

    /// <summary>Runs body(i) for i in [0, count), in parallel when count &gt; 1 and Threads &gt; 1.</summary>
    internal void ForEach(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || Threads <= 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, ParallelOptions, body);
    }

    /// <summary>y[i] += a · x[i].</summary>
    internal static void AxpySpan(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (int v = 0; v < vx.Length; v++) vy[v] += va * vx[v];
            i = vx.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) y[i] += a * x[i];
    }

    /// <summary>Σ x[i]·y[i] in float.</summary>
    internal static float DotSpan(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int i = 0;
        float s = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y[..x.Length]);
            for (int v = 0; v < vx.Length; v++) acc += vx[v] * vy[v];
            s = Vector.Sum(acc);
            i = vx.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }

    /// <summary>Σ x[i] accumulated in double.</summary>
    internal static double SumSpan(ReadOnlySpan<float> x)
    {
        int i = 0;
        double s = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            // Float partial sums over short runs keep precision; runs are folded into the double total.
            const int run = 64;
            for (int v0 = 0; v0 < vx.Length; v0 += run)
            {
                var acc = Vector<float>.Zero;
                int v1 = Math.Min(vx.Length, v0 + run);
                for (int v = v0; v < v1; v++) acc += vx[v];
                s += Vector.Sum(acc);
            }
            i = vx.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) s += x[i];
        return s;
    }
}
