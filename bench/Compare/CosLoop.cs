using System.Diagnostics;
using SpikeEngine.IO;
using SpikeEngine.Nn.Models;
using SpikeEngine.Snn;

namespace SpikeEngine.Bench.Compare;

/// <summary>
/// `bench -- cosloop ARCH DIR RUNS [off|nowinograd]`: COS T=4 ρ=4 inference in a loop (off: event-driven path off;
/// nowinograd: the Winograd path off) (for a profiler such as perf, or alternating builds or paths) on a model and input
/// exported by tools/peers/compare_peer.py (DIR/ARCH.model.safetensors, DIR/ARCH.input.safetensors).
/// </summary>
internal static class CosLoop
{
    public static void Run(string arch, string dir, int runs, string option = "")
    {
        if (option is not ("" or "off" or "nowinograd"))
            throw new ArgumentException($"cosloop: unknown option '{option}'; expected off or nowinograd (or none).");
        if (option == "off") SpikeEngine.Backend.Cpu.CpuBackend.EventPath = SpikeEngine.Backend.Cpu.CpuBackend.EventChoice.Off;
        if (option == "nowinograd") SpikeEngine.Backend.Cpu.CpuBackend.WinogradEnabled = false;
        var ann = ModelZoo.Create(arch, 10, 4, new ModelOptions { Initialize = false });
        Checkpoints.LoadInto(ann, Path.Combine(dir, $"{arch}.model.safetensors"), strict: true);
        ann.Eval();
        var snn = SpikingNetwork.Convert(ann);
        using var images = SafeTensors.Load(Path.Combine(dir, $"{arch}.input.safetensors")).Tensors["input"];
        // the firing rates decide which layers take the event path (CpuBackend.EventBreakEven)
        var recorder = new SpikeRecorder();
        snn.Simulate(images, new SimulationSettings(4, 4), recorder).Dispose();
        Console.WriteLine($"IF firing rates per layer: {string.Join(" ", recorder.Result().Layers.Select(l => l.FiringRate.ToString("F3")))}");
        var process = Process.GetCurrentProcess();
        for (int r = 0; r < runs; r++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            snn.Simulate(images, new SimulationSettings(4, 4)).Dispose();
            process.Refresh();
            Console.WriteLine($"run {r}: {sw.Elapsed.TotalMilliseconds:F1} ms wall, {(process.TotalProcessorTime - cpu0).TotalMilliseconds:F1} ms CPU");
        }
    }
}
