using System.Diagnostics;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Bench.Compare;

/// <summary>`bench -- steploop ARCH STEPS`: training steps b64 in a loop (for a profiler such as perf), wall and CPU time per step.</summary>
internal static class StepLoop
{
    public static void Run(string arch, int steps)
    {
        const int batch = 64;
        var model = ModelZoo.Create(arch, 10, 4, new ModelOptions { Seed = 1 });
        model.Train();
        var sgd = new Sgd(model.NamedParameters(), 0.02f, 0.9f, 5e-4f);
        var rng = new Random(1);
        var data = new float[batch * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        using var images = Tensor.FromArray(data, new Shape(batch, 3, 32, 32));
        var labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
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
