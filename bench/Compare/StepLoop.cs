using System.Diagnostics;
using SpikeEngine.Bench.Training;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Bench.Compare;

/// <summary>`bench -- steploop ARCH STEPS [off|separate|nowinograd]`: training steps b64 in a loop (for a profiler such as perf), wall and CPU time
/// per step; "off" turns the event-driven convolution off (QCFS outputs are sparse enough for it in training too), "separate" runs
/// BatchNorm and QCFS as two operations, "nowinograd" the 3×3 layers on the direct/im2col path instead of Winograd.</summary>
internal static class StepLoop
{
    public static void Run(string arch, int steps, string variant = "")
    {
        if (variant is not ("" or "off" or "separate" or "nowinograd"))
            throw new ArgumentException($"steploop: unknown variant '{variant}'; expected off, separate or nowinograd (or none).");
        if (variant == "off") SpikeEngine.Backend.Cpu.CpuBackend.EventPath = SpikeEngine.Backend.Cpu.CpuBackend.EventChoice.Off;
        if (variant == "separate") SpikeEngine.Autograd.F.FuseNormQcfs = false;
        if (variant == "nowinograd") SpikeEngine.Backend.Cpu.CpuBackend.WinogradEnabled = false;
        var (model, sgd, images, labels) = TrainingStepBenchmark.CreateStep(arch);
        using var _ = images;
        var process = Process.GetCurrentProcess();
        for (int s = 0; s < steps; s++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            TrainingStep.Run(model, sgd, images, labels);
            process.Refresh();
            Console.WriteLine($"step {s}: {sw.Elapsed.TotalMilliseconds:F1} ms wall, {(process.TotalProcessorTime - cpu0).TotalMilliseconds:F1} ms CPU");
        }
    }
}
