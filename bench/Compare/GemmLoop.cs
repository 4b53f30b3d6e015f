using System.Diagnostics;
using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Compare;

/// <summary>
/// bench -- gemmloop [threads] [size] [repeats]: square row-major GEMMs in a loop, reported per wall second and per
/// CPU second of the process. On a loaded machine the CPU-time figure is the kernel's own rate (time slices taken by
/// other processes are not counted), so kernel changes can be compared while something else runs.
/// </summary>
internal static class GemmLoop
{
    public static void Run(int threads, int size, int repeats)
    {
        int saved = Backends.Cpu.Threads;
        Backends.Cpu.Threads = threads;
        try
        {
            var rng = new Random(1);
            var a = Tensor.FromArray(Enumerable.Range(0, size * size).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), new int[] { size, size });
            var b = Tensor.FromArray(Enumerable.Range(0, size * size).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), new int[] { size, size });
            var c = Tensor.Zeros(new int[] { size, size });
            void Once() => Backends.Cpu.Gemm(false, false, size, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size);
            for (int i = 0; i < 3; i++) Once();
            double flops = 2.0 * size * size * size;
            double bestWall = double.MaxValue, bestCpu = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var clock = Stopwatch.StartNew();
                double cpuMs = CpuTime.Of(Once);
                bestWall = Math.Min(bestWall, clock.Elapsed.TotalMilliseconds);
                bestCpu = Math.Min(bestCpu, cpuMs);
            }
            Console.WriteLine($"GEMM {size}³, {threads} thread(s), best of {repeats}: {flops / bestWall / 1e6:F1} GFLOP/s per wall second, " +
                              $"{flops / bestCpu / 1e6:F1} GFLOP/s per CPU second ({flops / bestCpu / 1e6 / threads:F1} per thread)");
        }
        finally { Backends.Cpu.Threads = saved; }
    }
}
