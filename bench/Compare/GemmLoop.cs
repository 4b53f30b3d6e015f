using System.Diagnostics;
using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Compare;

/// <summary>
/// bench -- gemmloop [threads] [size|MxNxK] [repeats] [nn|nt|tn|tt]: row-major GEMMs in a loop (square, or M×N×K with
/// op(A), op(B) transposed as the last argument says: nt = B transposed, as a Linear layer's y = x·Wᵀ), reported per
/// wall second and per CPU second of the process. On a loaded machine the CPU-time figure is the kernel's own rate (time slices taken by
/// other processes are not counted), so kernel changes can be compared while something else runs.
/// </summary>
internal static class GemmLoop
{
    public static void Run(int threads, string shape, int repeats, string trans = "nn")
    {
        var dims = shape.Split('x').Select(int.Parse).ToArray();
        var (m, n, k) = dims.Length == 3 ? (dims[0], dims[1], dims[2]) : dims.Length == 1 ? (dims[0], dims[0], dims[0])
            : throw new ArgumentException($"gemmloop: the shape '{shape}' is neither SIZE nor MxNxK.");
        if (trans is not ("nn" or "nt" or "tn" or "tt")) throw new ArgumentException($"gemmloop: '{trans}' is not one of nn, nt, tn, tt.");
        bool transA = trans[0] == 't', transB = trans[1] == 't';
        int saved = Backends.Cpu.Threads;
        Backends.Cpu.Threads = threads;
        try
        {
            var rng = new Random(1);
            Tensor Random(int rows, int cols) => Tensor.FromArray(Enumerable.Range(0, rows * cols).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), new int[] { rows, cols });
            var a = transA ? Random(k, m) : Random(m, k);
            var b = transB ? Random(n, k) : Random(k, n);
            var c = Tensor.Zeros(new int[] { m, n });
            void Once() => Backends.Cpu.Gemm(transA, transB, m, n, k, 1f, a, 0, transA ? m : k, b, 0, transB ? k : n, 0f, c, 0, n);
            for (int i = 0; i < 3; i++) Once();
            double flops = 2.0 * m * n * k;
            double bestWall = double.MaxValue, bestCpu = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var clock = Stopwatch.StartNew();
                double cpuMs = CpuTime.Of(Once);
                bestWall = Math.Min(bestWall, clock.Elapsed.TotalMilliseconds);
                bestCpu = Math.Min(bestCpu, cpuMs);
            }
            Console.WriteLine($"GEMM {(m == n && n == k ? $"{m}³" : $"{m}×{n}×{k}")} {trans}, {threads} thread(s), best of {repeats}: {flops / bestWall / 1e6:F1} GFLOP/s per wall second, " +
                              $"{flops / bestCpu / 1e6:F1} GFLOP/s per CPU second ({flops / bestCpu / 1e6 / threads:F1} per thread)");
        }
        finally { Backends.Cpu.Threads = saved; }
    }
}
