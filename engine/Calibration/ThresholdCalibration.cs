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
/// Turns the ReLU / Clip(0, m) units of an imported <see cref="GraphNetwork"/> into QCFS units (METHOD.md §9). The
/// percentile is exact (numpy's linear rule over the positive outputs) while memory stays independent of the number
/// of images: three passes without gradients — the largest output of each unit; a histogram of its positive outputs
/// on [0, max] with <see cref="Bins"/> bins, which locates the two order statistics the percentile lies between; the
/// values of just those bins, sorted.
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
        var probes = units.Select(u => new Probe(network.Child(u.Name), settings.Percentile)).ToList();
        for (int i = 0; i < units.Count; i++) network.SetChild(units[i].Name, probes[i]);
        bool wasTraining = network.Training;
        network.Eval();
        try
        {
            for (int pass = 0; pass < 3; pass++)
            {
                Run(network, images, settings.Images, device, cancel);
                foreach (var p in probes) p.NextPass();
            }
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
            float lambda = p.Lambda;
            // A unit that never fired keeps a positive threshold (conversion needs θ = λ > 0); it stays silent either way.
            if (!(lambda > 0)) lambda = p.Max > 0 ? p.Max : 1f;
            var node = units[i];
            var qcfs = new Qcfs(settings.Levels, lambda);
            if (device != Device.Cpu) qcfs.To(device);
            qcfs.Train(wasTraining);
            network.ReplaceNode(node with { Op = GraphOps.Qcfs, Settings = new Dictionary<string, double>(node.Settings) { ["levels"] = settings.Levels } }, qcfs);
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

    /// <summary>Runs the unit and watches its outputs: pass 0 their maximum, pass 1 their histogram, pass 2 the values of two bins.</summary>
    private sealed class Probe(Module inner, double percentile) : Module
    {
        private int _pass;
        private long[] _histogram = [];
        private double _rank;
        private long _low, _high, _below;          // order statistics around the rank; values below the first collected bin
        private int _lowBin, _highBin;
        private readonly List<float> _collected = [];

        public Module Inner { get; } = inner;
        public float Max { get; private set; }
        public long Positive { get; private set; }
        public float Lambda { get; private set; }

        private int Bin(float v) => Math.Min(Bins - 1, (int)(v * (Bins / (double)Max)));

        public override Tensor Forward(Tensor x)
        {
            var y = Inner.Forward(x);
            var values = y.ToArray();
            foreach (var v in values)
            {
                if (!(v > 0)) continue;
                switch (_pass)
                {
                    case 0: if (v > Max) Max = v; Positive++; break;
                    case 1: _histogram[Bin(v)]++; break;
                    case 2:
                        int b = Bin(v);
                        if (b == _lowBin || b == _highBin) _collected.Add(v);
                        break;
                }
            }
            return y;
        }

        public void NextPass()
        {
            switch (_pass++)
            {
                case 0:
                    _histogram = new long[Bins];
                    break;
                case 1:
                    if (Positive == 0) break;
                    _rank = percentile / 100 * (Positive - 1);
                    _low = (long)Math.Floor(_rank);
                    _high = Math.Min(_low + 1, Positive - 1);
                    long before = 0;
                    _lowBin = _highBin = -1;
                    for (int b = 0; b < Bins && _highBin < 0; b++)
                    {
                        if (_lowBin < 0 && before + _histogram[b] > _low) { _lowBin = b; _below = before; }
                        if (before + _histogram[b] > _high) _highBin = b;
                        before += _histogram[b];
                    }
                    break;
                case 2:
                    if (Positive == 0) break;
                    _collected.Sort();
                    long expected = _histogram[_lowBin] + (_highBin != _lowBin ? _histogram[_highBin] : 0);
                    if (_collected.Count == expected)
                    {
                        double lo = _collected[(int)(_low - _below)], hi = _collected[(int)(_high - _below)];
                        Lambda = (float)(lo + (_rank - _low) * (hi - lo));
                    }
                    else // the outputs differed between passes (a non-deterministic device kernel): read the histogram instead
                        Lambda = (float)(Max / (double)Bins * (_lowBin + 0.5));
                    _collected.Clear();
                    break;
            }
        }

        public override string Describe() => Inner.Describe();
    }
}
