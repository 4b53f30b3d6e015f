using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Snn;

/// <summary>
/// Measures whether an event-driven convolution (each input spike scatters its weights into the outputs it
/// feeds) could beat the dense GEMM convolution for the layers after an IF layer, at the firing rates we see.
/// The scatter kernel is a probe for the decision, not an engine path: it writes NHWC output and its
/// layout conversion is not counted (in its favour). Setup checks that both give the same result.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class EventDrivenConvBenchmark
{
    private const int Images = 128, Channels = 32, Size = 16, OutChannels = 32, Kernel = 3, Pad = 1;
    private Tensor _input = null!, _weight = null!, _output = null!;
    private float[] _weightT = null!, _outputHwc = null!;
    private int[] _spikeOffsets = null!;   // per image: start in _spikes
    private int[] _spikes = null!;         // (c·H + h)·W + w of each spike
    private Conv2dGeometry _g;

    [Params(0.05, 0.15, 0.30)] public double FiringRate { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var x = new float[Images * Channels * Size * Size];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < FiringRate ? 1f : 0f;
        var w = new float[OutChannels * Channels * Kernel * Kernel];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() - 0.5);
        _input = Tensor.FromArray(x, new Shape(Images, Channels, Size, Size));
        _weight = Tensor.FromArray(w, new Shape(OutChannels, Channels, Kernel, Kernel));
        _g = Conv2dGeometry.Create(_input.Shape, _weight.Shape, 1, 1, Pad, Pad);
        _output = Tensor.Empty(_g.OutputShape);
        // Weights as [c][kh][kw][oc] so one spike adds contiguous output-channel vectors.
        _weightT = new float[w.Length];
        for (int o = 0; o < OutChannels; o++)
            for (int c = 0; c < Channels; c++)
                for (int k = 0; k < Kernel * Kernel; k++)
                    _weightT[(c * Kernel * Kernel + k) * OutChannels + o] = w[(o * Channels + c) * Kernel * Kernel + k];
        var spikes = new List<int>();
        _spikeOffsets = new int[Images + 1];
        int per = Channels * Size * Size;
        for (int n = 0; n < Images; n++)
        {
            _spikeOffsets[n] = spikes.Count;
            for (int i = 0; i < per; i++) if (x[n * per + i] != 0) spikes.Add(i);
        }
        _spikeOffsets[Images] = spikes.Count;
        _spikes = [.. spikes];
        _outputHwc = new float[Images * Size * Size * OutChannels];

        Dense();
        EventDriven();
        var dense = _output.ToArray();
        for (int n = 0; n < Images; n += 37)
            for (int o = 0; o < OutChannels; o++)
                for (int p = 0; p < Size * Size; p++)
                {
                    float a = dense[(n * OutChannels + o) * Size * Size + p], b = _outputHwc[(n * Size * Size + p) * OutChannels + o];
                    if (Math.Abs(a - b) > 1e-3f * (1 + Math.Abs(a))) throw new InvalidOperationException($"event-driven conv differs: {a} vs {b}");
                }
        Console.WriteLine($"// firing rate {FiringRate}: dense MACs {_g.Macs:E3}, event-driven accumulates ≈ {_spikes.Length * (double)Kernel * Kernel * OutChannels:E3}");
    }

    [Benchmark(Baseline = true)]
    public void Dense() => Backends.Cpu.Conv2dForward(_input, _weight, null, _output, _g);

    [Benchmark]
    public void EventDriven()
    {
        Parallel.For(0, Images, new ParallelOptions { MaxDegreeOfParallelism = Backends.Cpu.Threads }, n =>
        {
            var output = _outputHwc.AsSpan(n * Size * Size * OutChannels, Size * Size * OutChannels);
            output.Clear();
            for (int s = _spikeOffsets[n]; s < _spikeOffsets[n + 1]; s++)
            {
                int i = _spikes[s], c = i / (Size * Size), h = i / Size % Size, w = i % Size;
                for (int kh = 0; kh < Kernel; kh++)
                {
                    int oh = h - kh + Pad;
                    if ((uint)oh >= Size) continue;
                    for (int kw = 0; kw < Kernel; kw++)
                    {
                        int ow = w - kw + Pad;
                        if ((uint)ow >= Size) continue;
                        var src = _weightT.AsSpan(((c * Kernel + kh) * Kernel + kw) * OutChannels, OutChannels);
                        var dst = output.Slice((oh * Size + ow) * OutChannels, OutChannels);
                        for (int o = 0; o < OutChannels; o += 16)
                            (Vector512.LoadUnsafe(ref dst[o]) + Vector512.LoadUnsafe(ref src[o])).StoreUnsafe(ref dst[o]);
                    }
                }
            }
        });
    }

    [GlobalCleanup]
    public void Cleanup() { _input.Dispose(); _weight.Dispose(); _output.Dispose(); }
}
