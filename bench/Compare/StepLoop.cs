using System.Diagnostics;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Bench.Compare;

/// <summary>`bench -- steploop ARCH STEPS`: training steps b64 in a loop (for a profiler such as perf), wall and CPU time per step.</summary>
internal static class StepLoop
{
    /// <summary>
    /// One CIFAR training step's inputs, as bench/Training/TrainingStepBenchmark and the peer: batch 64 of seeded
    /// uniform images in [−2, 2), labels i mod 10, SGD momentum 0.9, weight decay 5e-4; the model in training mode.
    /// </summary>
    public static (Module Model, Sgd Sgd, Tensor Images, int[] Labels) CreateStep(string arch)
    {
        const int batch = 64;
        var model = ModelZoo.Create(arch, 10, 4, new ModelOptions { Seed = 1 });
        model.Train();
        var sgd = new Sgd(model.NamedParameters(), 0.02f, 0.9f, 5e-4f);
        var rng = new Random(1);
        var data = new float[batch * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        var images = Tensor.FromArray(data, new Shape(batch, 3, 32, 32));
        var labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
        return (model, sgd, images, labels);
    }

    public static void Run(string arch, int steps)
    {
        var (model, sgd, images, labels) = CreateStep(arch);
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
