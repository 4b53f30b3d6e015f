using SpikeEngine.Autograd;
using SpikeEngine.Data;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Tensors;

namespace SpikeEngine.Calibration;

/// <summary>Data-based thresholds (METHOD.md §9): λ = the <see cref="Percentile"/>-th percentile of each ReLU's positive
/// activations over the first <see cref="Images"/> calibration images; the ReLU then becomes QCFS with <see cref="Levels"/>.</summary>
public sealed record CalibrationSettings
{
    public double Percentile { get; init; } = 99.99;
    public int Images { get; init; } = 1000;
    public int Levels { get; init; } = 8;

    public void Check()
    {
        if (!(Percentile > 0 && Percentile <= 100)) throw new ArgumentException($"The threshold percentile must be in (0, 100], got {Percentile}.");
        if (Images < 1) throw new ArgumentException($"Calibration needs at least one image, got {Images}.");
        if (Levels < 1) throw new ArgumentException($"The QCFS level L must be at least 1, got {Levels}.");
    }
}

/// <summary>One calibrated unit: λ, the largest activation seen, and how many positive activations λ was taken from.</summary>
public sealed record LayerThreshold(string Layer, float Lambda, float MaxActivation, long PositiveActivations);

/// <summary>
/// Turns the ReLU / Clip(0, m) units of an imported <see cref="GraphNetwork"/> into QCFS units (METHOD.md §9). Two passes
/// over the calibration images without gradients: the first finds each unit's largest output, the second fills a
/// histogram of its positive outputs on [0, max] with <see cref="Bins"/> bins, from which the percentile is read with
/// linear interpolation inside its bin (error at most max / <see cref="Bins"/>), so memory does not grow with the
/// number of images.
/// </summary>
public static class ThresholdCalibration
{
    public const int Bins = 1 << 16;

    public static IReadOnlyList<LayerThreshold> Calibrate(GraphNetwork network, DataLoader images, CalibrationSettings settings, Device device,
        CancellationToken cancel = default)
    {
        settings.Check();
        var units = network.Spec.Nodes.Where(n => n.Op == GraphOps.Relu).ToList();
        if (units.Count == 0) throw new ArgumentException($"{network.Describe()} has no ReLU to calibrate (it is calibrated already, or has no activation).");
        var probes = units.Select(u => new Probe(network.Child(u.Name))).ToList();
        for (int i = 0; i < units.Count; i++) network.SetChild(units[i].Name, probes[i]);
        bool wasTraining = network.Training;
        network.Eval();
        try
        {
            Run(network, images, settings.Images, device, cancel);
            foreach (var p in probes) p.StartHistogram();
            Run(network, images, settings.Images, device, cancel);
        }
        finally
        {
            for (int i = 0; i < units.Count; i++) network.SetChild(units[i].Name, probes[i].Inner);
            network.Train(wasTraining);
        }

        var result = new List<LayerThreshold>();
        for (int i = 0; i < units.Count; i++)
        {
            var p = probes[i];
            float lambda = p.Percentile(settings.Percentile);
            // A unit that never fired keeps a positive threshold (conversion needs θ = λ > 0); it stays silent either way.
            if (!(lambda > 0)) lambda = p.Max > 0 ? p.Max : 1f;
            var node = units[i];
            var settingsOut = new Dictionary<string, double>(node.Settings) { ["levels"] = settings.Levels, ["up"] = lambda };
            var qcfs = new Qcfs(settings.Levels, lambda);
            if (device != Device.Cpu) qcfs.To(device);
            qcfs.Train(wasTraining);
            network.ReplaceNode(node with { Op = GraphOps.Qcfs, Settings = settingsOut }, qcfs);
            result.Add(new LayerThreshold(node.Name, lambda, p.Max, p.Positive));
        }
        return result;
    }

    private static void Run(Module network, DataLoader images, int limit, Device device, CancellationToken cancel)
    {
        using var noGrad = Grad.NoGrad();
        int seen = 0;
        foreach (var batch in DevicePlacement.Batches(images, device, 0, cancel))
        {
            using (batch)
            {
                cancel.ThrowIfCancellationRequested();
                var x = batch.Images;
                int take = Math.Min(batch.Size, limit - seen);
                if (take < batch.Size)
                {
                    var host = x.ToArray().AsSpan(0, take * x.Shape.SizeFrom(1)).ToArray();
                    var dims = x.Shape.ToArray();
                    dims[0] = take;
                    using var part = Tensor.FromArray(host, new Shape(dims), device);
                    network.Forward(part).Dispose();
                }
                else network.Forward(x).Dispose();
                seen += take;
            }
            if (seen >= limit) break;
        }
        if (seen == 0) throw new ArgumentException("Threshold calibration got no images.");
    }

    /// <summary>Runs the unit and watches its outputs: first their maximum, then their histogram on [0, max].</summary>
    private sealed class Probe(Module inner) : Module
    {
        private long[]? _histogram;

        public Module Inner { get; } = inner;
        public float Max { get; private set; }
        public long Positive { get; private set; }

        public void StartHistogram() => _histogram = new long[Bins];

        public override Tensor Forward(Tensor x)
        {
            var y = Inner.Forward(x);
            var values = y.ToArray();
            if (_histogram is null)
            {
                foreach (var v in values) if (v > Max) Max = v;
                return y;
            }
            if (Max <= 0) return y;
            double scale = Bins / (double)Max;
            foreach (var v in values)
            {
                if (!(v > 0)) continue;
                _histogram[Math.Min(Bins - 1, (int)(v * scale))]++;
                Positive++;
            }
            return y;
        }

        /// <summary>The p-th percentile of the positive outputs (numpy's linear rule, read inside the histogram bin).</summary>
        public float Percentile(double p)
        {
            if (_histogram is null || Positive == 0) return 0f;
            double rank = p / 100 * (Positive - 1);
            double width = Max / (double)Bins;
            long before = 0;
            for (int b = 0; b < Bins; b++)
            {
                long count = _histogram[b];
                if (count > 0 && before + count > rank)
                    return (float)(width * (b + (rank - before + 0.5) / count));
                before += count;
            }
            return Max;
        }

        public override string Describe() => Inner.Describe();
    }
}
