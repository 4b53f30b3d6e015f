using SpikeEngine.Backend.Cpu;

namespace SpikeEngine.Tests.Snn;

/// <summary>
/// The CPU backend's event-driven convolution (used for sparse samples after IF layers) changes only the
/// summation order: on the exact ResNet-20 fixture, every IF layer's output spike train (all neurons, all
/// steps, ρ ∈ {0, 4}) is identical with events off, with the gather and scatter forms for every sparse sample, with the
/// table form for every spike sample, and with the forms the cost models choose.
/// </summary>
[NonParallelizable]
public class EventDrivenInferenceTests
{
    /// <summary>Passes its input to the wrapped IF layer and keeps a copy of every output (the spike train).</summary>
    private sealed class SpikeTap(Module inner) : Module
    {
        public List<float[]> Outputs { get; } = [];
        public override Tensor Forward(Tensor x)
        {
            var y = inner.Forward(x);
            Outputs.Add(y.ToArray());
            return y;
        }
    }

    private static List<SpikeTap> TapIfLayers(Module parent)
    {
        var taps = new List<SpikeTap>();
        foreach (var (name, child) in parent.Children().ToList())
        {
            if (child is IfLayer)
            {
                var tap = new SpikeTap(child);
                parent.SetChild(name, tap);
                taps.Add(tap);
            }
            else taps.AddRange(TapIfLayers(child));
        }
        return taps;
    }

    [Test]
    public void DenseAndEventPathsGiveTheSameSpikesOnTheResNet20Fixture()
    {
        var fixture = SafeTensors.Load(ReferenceFixtures.Committed("resnet20.cos.safetensors"));
        var meta = fixture.Metadata;
        var ann = ModelZoo.Create(meta["arch"], 10, int.Parse(meta["levels"]), new ModelOptions { Initialize = false });
        Checkpoints.LoadInto(ann, Path.Combine(AppContext.BaseDirectory, "fixtures", "checkpoints", "resnet20_mixed_fp16.pth"), strict: true);
        ann.Eval();
        var x = fixture.Tensors["input"];
        int steps = int.Parse(meta["steps"]);
        var snn = SpikingNetwork.Convert(ann);
        var taps = TapIfLayers(snn.Network);
        Assert.That(taps, Has.Count.EqualTo(snn.IfLayers.Count));

        var saved = CpuBackend.EventPath;
        double threshold = CpuBackend.EventMaxDensity;
        try
        {
            foreach (int rho in new[] { 0, 4 })
            {
                // run 0: dense only; then every sample under the density bound by events (gather, scatter), every spike
                // sample by the table form, and the cost models' choice
                var modes = new[] { CpuBackend.EventChoice.Off, CpuBackend.EventChoice.ByDensity, CpuBackend.EventChoice.Tables, CpuBackend.EventChoice.Auto };
                var trains = new List<float[]>[modes.Length];
                long eventSamples = 0, tableSamples = 0, linearEvents = 0;
                var outputs = new float[modes.Length][];
                for (int run = 0; run < modes.Length; run++)
                {
                    CpuBackend.EventPath = modes[run];
                    foreach (var t in taps) t.Outputs.Clear();
                    long before = CpuBackend.EventSamples, tablesBefore = CpuBackend.TableSamples, linearBefore = CpuBackend.LinearEventCalls;
                    using var y = snn.Simulate(x, new SimulationSettings(steps, rho));
                    if (modes[run] == CpuBackend.EventChoice.ByDensity) (eventSamples, linearEvents) = (CpuBackend.EventSamples - before, CpuBackend.LinearEventCalls - linearBefore);
                    if (modes[run] == CpuBackend.EventChoice.Tables) tableSamples = CpuBackend.TableSamples - tablesBefore;
                    outputs[run] = y.ToArray();
                    trains[run] = taps.SelectMany(t => t.Outputs).ToList();
                }
                long spikes = 0, sparseSamples = 0;
                for (int i = 0; i < trains[0].Count; i++)
                {
                    spikes += trains[0][i].Count(v => v != 0);
                    sparseSamples += SparseSamples(trains[0][i], x.Shape[0] * Math.Max(rho, steps), threshold);
                }
                for (int run = 1; run < modes.Length; run++)
                {
                    Assert.That(trains[run], Has.Count.EqualTo(trains[0].Count));
                    for (int i = 0; i < trains[0].Count; i++)
                        Assert.That(trains[run][i], Is.EqualTo(trains[0][i]), $"ρ={rho}: spike train {i} differs between the dense path and {modes[run]}");
                    for (int i = 0; i < outputs[0].Length; i++)
                        Assert.That(outputs[run][i], Is.EqualTo(outputs[0][i]).Within(1e-5 * (1 + Math.Abs(outputs[0][i]))), $"ρ={rho}: output {i} ({modes[run]})");
                }
                TestContext.Out.WriteLine($"ρ={rho}: {spikes} spikes identical; {sparseSamples} IF-output samples below the event threshold {threshold}");
                Assert.That(spikes, Is.GreaterThan(0));
                Assert.That(sparseSamples, Is.GreaterThan(0), "no sample was sparse enough for the event path: the test would not exercise it");
                if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)   // the event path needs AVX-512
                {
                    Assert.That(eventSamples, Is.GreaterThan(0), "no convolution took the event path");
                    Assert.That(tableSamples, Is.GreaterThan(0), "no convolution took the table form");
                }
                TestContext.Out.WriteLine($"ρ={rho}: {eventSamples} samples of convolutions took the event path, {tableSamples} the table form; {linearEvents} linear layers took it");
            }
        }
        finally { CpuBackend.EventPath = saved; }
    }

    /// <summary>Samples (rows of the time-major train) whose non-zero share is below the event threshold.</summary>
    private static long SparseSamples(float[] train, int samples, double threshold)
    {
        if (train.Length % samples != 0) return 0;
        int per = train.Length / samples;
        long sparse = 0;
        for (int n = 0; n < samples; n++)
        {
            int nonZero = 0;
            for (int i = 0; i < per; i++) if (train[n * per + i] != 0) nonZero++;
            if (nonZero < threshold * per) sparse++;
        }
        return sparse;
    }
}
