using System.Diagnostics;
using SpikeEngine.Backend;
using SpikeEngine.Backend.Cpu;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Compare;

/// <summary>
/// `bench -- convpaths`: each convolution of ResNet-20 and VGG-16 (CIFAR, batch 64) timed on the direct path
/// on the im2col path and (3×3 layers) on the Winograd path, alternating, best of several repeats. Decides where
/// <see cref="CpuBackend.UseDirectConv"/> and <see cref="CpuBackend.UseWinograd"/> draw their lines.
/// </summary>
internal static class ConvPathProbe
{
    private static readonly (string Name, int C, int H, int K)[] Layers =
    [
        ("resnet20 stem 3->16 32x32", 3, 32, 16), ("resnet20 16ch 32x32", 16, 32, 16), ("resnet20 32ch 16x16", 32, 16, 32),
        ("resnet20 64ch 8x8", 64, 8, 64), ("vgg16 64ch 32x32", 64, 32, 64), ("vgg16 128ch 16x16", 128, 16, 128),
        ("vgg16 256ch 8x8", 256, 8, 256), ("vgg16 512ch 4x4", 512, 4, 512), ("vgg16 512ch 2x2", 512, 2, 512),
        ("vgg16 64->128 16x16", 64, 16, 128), ("vgg16 128->256 8x8", 128, 8, 256), ("vgg16 256->512 4x4", 256, 4, 512),
    ];

    public static void Run(int batch, int repeats)
    {
        var cpu = Backends.Cpu;
        Console.WriteLine($"{"layer",-28} {"op",-8} {"direct cpu-ms",13} {"im2col cpu-ms",13} {"winograd cpu-ms",15} {"im2col/direct",14} {"best/winograd",14}");
        foreach (var (name, c, h, k) in Layers)
        {
            var g = new Conv2dGeometry(batch, c, h, h, k, 3, 3, 1, 1, 1, 1);
            var rng = new Random(1);
            using var x = Random(rng, g.InputShape); using var w = Random(rng, g.WeightShape); using var y = Random(rng, g.OutputShape);
            using var dx = Tensor.Empty(g.InputShape); using var dw = Tensor.Empty(g.WeightShape);
            foreach (var (op, body) in new (string, Action)[]
            {
                ("fwd", () => cpu.Conv2dForward(x, w, null, y, g)),
                ("bwd-data", () => cpu.Conv2dBackwardData(y, w, dx, g)),
                ("bwd-w", () => cpu.Conv2dBackwardWeight(x, y, dw, null, g)),
            })
            {
                double direct = double.MaxValue, im2col = double.MaxValue, winograd = double.MaxValue;
                CpuBackend.WinogradEnabled = true;
                CpuBackend.WinogradForced = true;
                bool canWinograd = CpuBackend.UseWinograd(g);
                CpuBackend.WinogradForced = false;
                for (int i = 0; i < repeats + 1; i++)
                {
                    CpuBackend.WinogradEnabled = false;
                    CpuBackend.DirectConvEnabled = true; double a = CpuTime.Of(body);
                    CpuBackend.DirectConvEnabled = false; double b = CpuTime.Of(body);
                    CpuBackend.WinogradEnabled = true; CpuBackend.DirectConvEnabled = true;
                    CpuBackend.WinogradForced = true;
                    double d = canWinograd ? CpuTime.Of(body) : double.NaN;
                    CpuBackend.WinogradForced = false;
                    if (i == 0) continue;
                    direct = Math.Min(direct, a); im2col = Math.Min(im2col, b); winograd = Math.Min(winograd, d);
                }
                string used = CpuBackend.UseWinograd(g) ? " (winograd used)" : CpuBackend.UseDirectConv(g) ? "" : " (im2col used)";
                Console.WriteLine($"{name,-28} {op,-8} {direct,13:F2} {im2col,13:F2} {winograd,15:F2} {im2col / direct,14:F2} {Math.Min(direct, im2col) / winograd,14:F2}{used}");
            }
        }
    }

    private static Tensor Random(Random rng, Shape shape)
    {
        var d = new float[shape.Numel];
        for (int i = 0; i < d.Length; i++) d[i] = (float)(rng.NextDouble() - 0.5);
        return Tensor.FromArray(d, shape);
    }
}
