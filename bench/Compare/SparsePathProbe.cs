using System.Diagnostics;
using SpikeEngine.Backend;
using SpikeEngine.Backend.Cpu;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Compare;

/// <summary>
/// `bench -- sparsepaths`: forward convolution of spike inputs (0 or θ at a given firing rate) on the dense path
/// and on the event-driven path, alternating, best of several repeats, batch 128 (= T·B of COS T=4 b32).
/// Where the ratio crosses 1 is the event path's break-even density (the cost model of CpuBackend.EventBreakEven is fitted to it).
/// Spikes also by the table form (CpuBackend.TableSampleNs is fitted to that). Pooled: the non-zeros take four values
/// (θ/4 … θ, as after a 2×2 average pool of spikes), which the gather form takes with indexed list entries or the scatter form
/// (CpuBackend.ScatterBreakEven is fitted to that). Layer "fc": VGG-16's fully connected layers, dense GEMM against the event
/// form (CpuBackend.LinearEvents.cs), and what its cost model chose.
/// </summary>
internal static class SparsePathProbe
{
    private static readonly (string Name, int C, int H, int K, int Stride)[] Layers =
    [
        ("resnet20 16ch 32x32", 16, 32, 16, 1), ("resnet20 16->32 s2", 16, 32, 32, 2), ("resnet20 32ch 16x16", 32, 16, 32, 1),
        ("resnet20 64ch 8x8", 64, 8, 64, 1), ("vgg16 64ch 32x32", 64, 32, 64, 1), ("vgg16 128ch 16x16", 128, 16, 128, 1), ("vgg16 256ch 8x8", 256, 8, 256, 1),
        ("vgg16 512ch 4x4", 512, 4, 512, 1),
    ];

    /// <summary>VGG-16's classifier (fully connected layers behind IF layers: CpuBackend.LinearEvents.cs).</summary>
    private static readonly (string Name, int In, int Out)[] LinearLayers =
        [("vgg16 fc 512->4096", 512, 4096), ("vgg16 fc 4096->4096", 4096, 4096), ("vgg16 fc 4096->10", 4096, 10)];

    public static void Run(int batch, int repeats, string? layer = null, double? onlyRate = null, bool pooled = false)
    {
        var cpu = Backends.Cpu;
        var (savedPath, savedDensity) = (CpuBackend.EventPath, CpuBackend.EventMaxDensity);
        CpuBackend.EventMaxDensity = 1.01;
        if (!pooled && LinearLayers.Any(l => layer is null || l.Name.Contains(layer)))
        {
            Console.WriteLine($"{"layer",-22} {"rate",6} {"dense cpu-ms",13} {"events cpu-ms",13} {"dense/events",13} {"chosen cpu-ms",13}");
            foreach (var (name, inF, outF) in LinearLayers.Where(l => layer is null || l.Name.Contains(layer)))
            foreach (double rate in onlyRate is { } only ? [only] : new[] { 0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45 })
            {
                var rng = new Random(1);
                var xd = new float[batch * inF];
                for (int i = 0; i < xd.Length; i++) xd[i] = rng.NextDouble() < rate ? 0.8f : 0f;
                var wd = new float[outF * inF];
                for (int i = 0; i < wd.Length; i++) wd[i] = (float)(rng.NextDouble() - 0.5);
                using var x = Tensor.FromArray(xd, new Shape(batch, inF)); using var w = Tensor.FromArray(wd, new Shape(outF, inF));
                using var y = Tensor.Empty(new Shape(batch, outF));
                double dense = double.MaxValue, events = double.MaxValue, chosen = double.MaxValue;
                for (int i = 0; i < repeats + 1; i++)
                {
                    CpuBackend.EventPath = CpuBackend.EventChoice.Off; double a = CpuTime.Of(() => cpu.LinearForward(x, w, null, y));
                    CpuBackend.EventPath = CpuBackend.EventChoice.ByDensity; double b = CpuTime.Of(() => cpu.LinearForward(x, w, null, y));
                    CpuBackend.EventPath = CpuBackend.EventChoice.Auto; double c = CpuTime.Of(() => cpu.LinearForward(x, w, null, y));
                    if (i == 0) continue;
                    dense = Math.Min(dense, a); events = Math.Min(events, b); chosen = Math.Min(chosen, c);
                }
                Console.WriteLine($"{name,-22} {rate,6:F2} {dense,13:F2} {events,13:F2} {dense / events,13:F2} {chosen,13:F2}");
            }
        }
        if (layer is not null && !Layers.Any(l => l.Name.Contains(layer))) { (CpuBackend.EventPath, CpuBackend.EventMaxDensity) = (savedPath, savedDensity); return; }
        Console.WriteLine($"{"layer",-22} {"rate",6} {"dense cpu-ms",13} {"events cpu-ms",13} {"dense/events",13}" + (pooled ? "" : $" {"tables cpu-ms",13} {"dense/tables",13}"));
        foreach (var (name, c, h, k, stride) in Layers.Where(l => layer is null || l.Name.Contains(layer)))
        foreach (double rate in onlyRate is { } only ? [only] : new[] { 0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45 })
        {
            var g = new Conv2dGeometry(batch, c, h, h, k, 3, 3, stride, stride, 1, 1);
            var rng = new Random(1);
            var xd = new float[g.InputShape.Numel];
            for (int i = 0; i < xd.Length; i++) xd[i] = rng.NextDouble() < rate ? (pooled ? 0.2f * rng.Next(1, 5) : 0.8f) : 0f;
            var wd = new float[g.WeightShape.Numel];
            for (int i = 0; i < wd.Length; i++) wd[i] = (float)(rng.NextDouble() - 0.5);
            using var x = Tensor.FromArray(xd, g.InputShape); using var w = Tensor.FromArray(wd, g.WeightShape); using var y = Tensor.Empty(g.OutputShape);
            double dense = double.MaxValue, events = double.MaxValue, tables = double.MaxValue;
            for (int i = 0; i < repeats + 1; i++)
            {
                CpuBackend.EventPath = CpuBackend.EventChoice.Off; double a = CpuTime.Of(() => cpu.Conv2dForward(x, w, null, y, g));
                CpuBackend.EventPath = CpuBackend.EventChoice.ByDensity; double b = CpuTime.Of(() => cpu.Conv2dForward(x, w, null, y, g));
                CpuBackend.EventPath = CpuBackend.EventChoice.Tables; double t = pooled ? 0 : CpuTime.Of(() => cpu.Conv2dForward(x, w, null, y, g));
                if (i == 0) continue;
                dense = Math.Min(dense, a); events = Math.Min(events, b); tables = Math.Min(tables, t);
            }
            Console.WriteLine($"{name,-22} {rate,6:F2} {dense,13:F2} {events,13:F2} {dense / events,13:F2}" + (pooled ? "" : $" {tables,13:F2} {dense / tables,13:F2}"));
        }
        (CpuBackend.EventPath, CpuBackend.EventMaxDensity) = (savedPath, savedDensity);
    }
}
