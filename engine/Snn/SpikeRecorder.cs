using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// Collects spike statistics (METHOD.md §6) while a <see cref="SpikingNetwork"/> simulates: per IF layer the
/// spikes per step, the offset-spike histogram ψ = Σ_t s(t) − clamp(floor(Σ_t I(t) + 1/2), 0, T) over the
/// first T steps, and how many neurons COS shifted up (v₀ > 0.5) or down (v₀ &lt; 0.5); per Conv2d/Linear the
/// synaptic operations. Pass one recorder to several Simulate calls with the same settings to pool batches.
/// </summary>
public sealed class SpikeRecorder
{
    private readonly Dictionary<string, LayerAccumulator> _layers = [];
    private readonly Dictionary<string, SynapseAccumulator> _synapses = [];
    private SimulationSettings? _settings;
    private long _images;

    internal void BeginBatch(SimulationSettings settings, int batch)
    {
        if (_settings is not null && _settings != settings)
            throw new InvalidOperationException($"SpikeRecorder: collected with {_settings}, now given {settings}; use one recorder per setting.");
        _settings = settings;
        _images += batch;
    }

    internal void RecordIfLayer(IfLayer layer, Tensor train, Tensor output, Tensor v0, int totalSteps, int steps)
    {
        var z = Host(train);
        var s = Host(output);
        var v = Host(v0);
        int neurons = v.Length;   // per step: B × neurons per image
        if (!_layers.TryGetValue(layer.LayerName, out var acc))
            _layers[layer.LayerName] = acc = new LayerAccumulator(layer.LayerName, layer.Threshold, steps);
        acc.NeuronsPerImage = neurons / (train.Shape[0] / totalSteps);
        float theta = layer.Threshold;
        var spikesOf = new int[neurons];
        var currentOf = new double[neurons];
        for (int t = 0; t < steps; t++)   // time-major: walk each step's block contiguously
            acc.SpikesPerStep[t] += AccumulateStep(s.Slice(t * neurons, neurons), z.Slice(t * neurons, neurons), theta, spikesOf, currentOf);
        for (int j = 0; j < neurons; j++)
        {
            int expected = (int)Math.Clamp(Math.Floor(currentOf[j] + 0.5), 0, steps);
            acc.OffsetHistogram[spikesOf[j] - expected + steps]++;
            if (v[j] > 0.5f) acc.ShiftedUp++;
            else if (v[j] < 0.5f) acc.ShiftedDown++;
        }
        acc.Neurons += neurons;
    }

    internal void RecordSynapses(SynapseCounter layer, Tensor x, Tensor y, bool dense)
    {
        // Every processed step N = max(ρ, T) is counted: with ρ > T a layer also feeds its pre-simulation steps T+1..ρ.
        int steps = _settings!.TotalSteps;
        if (!_synapses.TryGetValue(layer.LayerName, out var acc))
            _synapses[layer.LayerName] = acc = new SynapseAccumulator(layer.LayerName, layer.Describe(), _settings.Steps, steps);
        long macs = layer.DenseMacsPerImage(x, y);
        acc.DenseMacsPerImage = macs;
        acc.Dense = dense;
        if (dense) return;
        var fanOut = layer.FanOut(x);
        var a = Host(x);
        int perImage = x.Numel / x.Shape[0];
        int images = x.Shape[0] / _settings.TotalSteps;
        int positions = fanOut.Length;   // H·W (conv) or 1 (linear: every feature has the same fan-out)
        for (int t = 0; t < steps; t++)
        {
            long ops = 0;
            for (int b = 0; b < images; b++)
            {
                var image = a.Slice((t * images + b) * perImage, perImage);
                if (positions == 1) ops += fanOut[0] * (perImage - CountZeros(image));   // linear: one fan-out for all
                else
                    for (int c = 0; c < perImage; c += positions)   // conv: C planes of H·W positions
                        ops += FanOutOfActive(image.Slice(c, positions), fanOut);
            }
            acc.SynOpsPerProcessedStep[t] += ops;
        }
    }

    // The loops below are SIMD versions of the obvious scalar loops (their tails); the recorder runs on every step of
    // every layer, so a scalar pass (with a modulo per element) used to cost as much as the simulation itself.

    /// <summary>One step of an IF layer: spikes (s ≠ 0) counted per neuron and in all, input z/θ added per neuron.</summary>
    private static long AccumulateStep(ReadOnlySpan<float> s, ReadOnlySpan<float> z, float theta, int[] spikesOf, double[] currentOf)
    {
        int n = s.Length, j = 0, w = Vector<float>.Count;
        long count = 0;
        if (Vector.IsHardwareAccelerated && Vector<double>.Count * 2 == w)
        {
            var vTheta = new Vector<float>(theta);
            var spikes = Vector<int>.Zero;
            for (; j + w <= n; j += w)
            {
                var fired = Vector.OnesComplement(Vector.Equals(new Vector<float>(s.Slice(j)), Vector<float>.Zero));   // −1 where s ≠ 0
                spikes -= fired;
                (new Vector<int>(spikesOf, j) - fired).CopyTo(spikesOf, j);
                Vector.Widen(new Vector<float>(z.Slice(j)) / vTheta, out var low, out var high);
                (new Vector<double>(currentOf, j) + low).CopyTo(currentOf, j);
                (new Vector<double>(currentOf, j + w / 2) + high).CopyTo(currentOf, j + w / 2);
            }
            count = Vector.Sum(spikes);
        }
        for (; j < n; j++)
        {
            if (s[j] != 0) { count++; spikesOf[j]++; }
            currentOf[j] += z[j] / theta;
        }
        return count;
    }

    /// <summary>How many values are exactly zero.</summary>
    private static int CountZeros(ReadOnlySpan<float> v)
    {
        int i = 0, zeros = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<int>.Zero;
            for (; i + w <= v.Length; i += w) acc -= Vector.Equals(new Vector<float>(v.Slice(i)), Vector<float>.Zero);
            zeros = Vector.Sum(acc);
        }
        for (; i < v.Length; i++) if (v[i] == 0) zeros++;
        return zeros;
    }

    /// <summary>Σ fanOut[i] over the positions i whose value is not zero.</summary>
    private static long FanOutOfActive(ReadOnlySpan<float> v, int[] fanOut)
    {
        int i = 0, w = Vector<float>.Count;
        long sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<int>.Zero;   // per lane at most H·W / w positions × fan-out: far below int overflow
            for (; i + w <= v.Length; i += w)
                acc += Vector.AndNot(new Vector<int>(fanOut, i), Vector.Equals(new Vector<float>(v.Slice(i)), Vector<float>.Zero));
            sum = Vector.Sum(acc);
        }
        for (; i < v.Length; i++) if (v[i] != 0) sum += fanOut[i];
        return sum;
    }

    /// <summary>The values without a copy on the CPU (the recorder only reads them), a host copy from a GPU.</summary>
    private static ReadOnlySpan<float> Host(Tensor t) => t.Device == Device.Cpu ? t.Span : t.ToArray();

    /// <summary>
    /// Sums every count over the ranks (sharded diagnostics), exactly: afterwards every rank holds the whole set's
    /// counts. Every rank must have recorded at least one batch (the same layers, in the same order).
    /// </summary>
    public void SumOver(Distributed.ICommunicator ranks)
    {
        if (_settings is null)
            throw new InvalidOperationException($"SpikeRecorder on rank {ranks.Rank}: nothing was recorded; every rank needs at least one batch.");
        var parts = new List<long[]> { new[] { _images } };
        foreach (var a in _layers.Values) parts.AddRange([new[] { a.Neurons, a.ShiftedUp, a.ShiftedDown }, a.SpikesPerStep, a.OffsetHistogram]);
        foreach (var a in _synapses.Values) parts.Add(a.SynOpsPerProcessedStep);
        var flat = parts.SelectMany(p => p).ToArray();
        var lengths = new byte[8 * ranks.Size];
        ranks.AllGather(BitConverter.GetBytes((long)flat.Length), lengths);
        for (int r = 0; r < ranks.Size; r++)
            if (BitConverter.ToInt64(lengths, 8 * r) != flat.Length)
                throw new InvalidOperationException($"SpikeRecorder: rank {r} recorded {BitConverter.ToInt64(lengths, 8 * r)} counts, rank {ranks.Rank} {flat.Length}; the ranks simulated different networks.");
        ranks.AllReduceSum(flat);
        int at = 0;
        long Next() => flat[at++];
        void Fill(long[] target) { flat.AsSpan(at, target.Length).CopyTo(target); at += target.Length; }
        _images = Next();
        foreach (var a in _layers.Values)
        {
            (a.Neurons, a.ShiftedUp, a.ShiftedDown) = (Next(), Next(), Next());
            Fill(a.SpikesPerStep);
            Fill(a.OffsetHistogram);
        }
        foreach (var a in _synapses.Values) Fill(a.SynOpsPerProcessedStep);
    }

    /// <summary>The statistics of what was recorded, per image.</summary>
    public SimulationStatistics Result(long annMacsPerImage = -1)
    {
        if (_settings is null) throw new InvalidOperationException("SpikeRecorder: nothing was recorded (pass it to SpikingNetwork.Simulate).");
        int steps = _settings.Steps;
        var layers = _layers.Values.Select(a => a.ToStatistics(_images)).ToList();
        var synapses = _synapses.Values.Select(a => a.ToStatistics(_images)).ToList();
        var processed = new double[_settings.TotalSteps];
        foreach (var s in synapses.Where(s => !s.Dense))
            for (int t = 0; t < processed.Length; t++) processed[t] += s.SynOpsPerImagePerProcessedStep[t];
        var synOps = processed[..steps];
        double denseMacsPerStep = synapses.Where(s => s.Dense).Sum(s => (double)s.DenseMacsPerImage);
        long annMacs = annMacsPerImage >= 0 ? annMacsPerImage : synapses.Sum(s => s.DenseMacsPerImage);
        double snnEnergy = synOps.Sum() * EnergyModel.PicojoulesPerAccumulate + steps * denseMacsPerStep * EnergyModel.PicojoulesPerMac;
        return new SimulationStatistics(_settings.Presim, steps, _settings.Iterations, _images, layers, synapses,
            synOps, denseMacsPerStep, annMacs, snnEnergy, annMacs * EnergyModel.PicojoulesPerMac)
        { SynOpsPerProcessedStep = processed };
    }

    private sealed class LayerAccumulator(string name, float threshold, int steps)
    {
        public string Name { get; } = name;
        public float Threshold { get; } = threshold;
        public int NeuronsPerImage { get; set; }
        public long Neurons { get; set; }
        public long[] SpikesPerStep { get; } = new long[steps];
        public long[] OffsetHistogram { get; } = new long[2 * steps + 1];
        public long ShiftedUp { get; set; }
        public long ShiftedDown { get; set; }

        public IfLayerStatistics ToStatistics(long images)
        {
            int steps = SpikesPerStep.Length;
            var histogram = new SortedDictionary<int, long>();
            for (int i = 0; i < OffsetHistogram.Length; i++) if (OffsetHistogram[i] != 0) histogram[i - steps] = OffsetHistogram[i];
            double rate = Neurons == 0 ? 0 : SpikesPerStep.Sum() / ((double)Neurons * steps);
            return new IfLayerStatistics(Name, Threshold, NeuronsPerImage, rate, SpikesPerStep.Select(s => s / (double)images).ToArray(),
                histogram, Neurons == 0 ? 0 : ShiftedUp / (double)Neurons, Neurons == 0 ? 0 : ShiftedDown / (double)Neurons);
        }
    }

    private sealed class SynapseAccumulator(string name, string description, int steps, int processedSteps)
    {
        public long[] SynOpsPerProcessedStep { get; } = new long[processedSteps];
        public long DenseMacsPerImage { get; set; }
        public bool Dense { get; set; }

        public SynapseStatistics ToStatistics(long images)
        {
            var perStep = SynOpsPerProcessedStep.Select(s => s / (double)images).ToArray();
            return new(name, description, Dense, DenseMacsPerImage, perStep[..steps]) { SynOpsPerImagePerProcessedStep = perStep };
        }
    }
}

/// <summary>Energy per operation, 45 nm CMOS (Horowitz, ISSCC 2014; the usual SNN-literature figures, float32).</summary>
public static class EnergyModel
{
    /// <summary>One accumulate (a spike-driven synaptic operation): 0.9 pJ.</summary>
    public const double PicojoulesPerAccumulate = 0.9;
    /// <summary>One multiply-accumulate: 4.6 pJ.</summary>
    public const double PicojoulesPerMac = 4.6;
}

/// <summary>One IF layer over the first T steps, per image.</summary>
/// <param name="Name">The path of the QCFS unit the layer replaces.</param>
/// <param name="Threshold">θ = λ.</param>
/// <param name="NeuronsPerImage">IF neurons of the layer for one image.</param>
/// <param name="FiringRate">Spikes per neuron per step.</param>
/// <param name="SpikesPerStep">Mean spikes per image at each step 1..T.</param>
/// <param name="OffsetHistogram">ψ → number of neurons (over all images).</param>
/// <param name="ShiftedUp">Share of neurons whose COS initial potential is above 0.5.</param>
/// <param name="ShiftedDown">Share of neurons whose COS initial potential is below 0.5.</param>
public sealed record IfLayerStatistics(string Name, float Threshold, int NeuronsPerImage, double FiringRate,
    double[] SpikesPerStep, SortedDictionary<int, long> OffsetHistogram, double ShiftedUp, double ShiftedDown)
{
    /// <summary>Share of neurons with ψ = 0.</summary>
    public double ZeroOffsetShare => OffsetHistogram.Values.Sum() is var n && n > 0 ? OffsetHistogram.GetValueOrDefault(0) / (double)n : 0;
}

/// <summary>One Conv2d/Linear: dense (sees the analog image, every step) or spike-driven (SynOps per step per image).</summary>
public sealed record SynapseStatistics(string Name, string Layer, bool Dense, long DenseMacsPerImage, double[] SynOpsPerImagePerStep)
{
    /// <summary>SynOps per image at every step the layer processed, N = max(ρ, T) (the first T are <see cref="SynOpsPerImagePerStep"/>).</summary>
    public double[] SynOpsPerImagePerProcessedStep { get; init; } = SynOpsPerImagePerStep;
}

/// <summary>A diagnostics run (one ρ, T), per image. Energies in pJ for T steps (SNN) and one forward (ANN).</summary>
public sealed record SimulationStatistics(int Presim, int Steps, int Iterations, long Images,
    IReadOnlyList<IfLayerStatistics> Layers, IReadOnlyList<SynapseStatistics> Synapses,
    double[] SynOpsPerStep, double DenseMacsPerStep, long AnnMacsPerImage, double SnnEnergyPicojoules, double AnnEnergyPicojoules)
{
    /// <summary>SynOps per image at every step the layers processed, N = max(ρ, T): with ρ &gt; T the steps T+1..ρ feed
    /// the pre-simulation (<see cref="SynOpsPerStep"/> is its first T entries).</summary>
    public double[] SynOpsPerProcessedStep { get; init; } = SynOpsPerStep;

    public double PicojoulesPerAccumulate => EnergyModel.PicojoulesPerAccumulate;
    public double PicojoulesPerMac => EnergyModel.PicojoulesPerMac;

    /// <summary>The engine's one JSON form of results (<see cref="IO.ResultJson"/>).</summary>
    public string ToJson() => IO.ResultJson.Serialize(this);

    /// <summary>A plain-text table: one row per IF layer, then SynOps and energy.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"{(Presim == 0 ? "plain" : $"COS ρ={Presim}")}, T={Steps}, {Images} images");
        int lo = -2, hi = 2;
        sb.AppendLine(inv, $"{"IF layer",-32} {"θ",8} {"neurons",9} {"rate",7} {"up%",6} {"down%",6}  ψ≤-2     ψ=-1     ψ=0      ψ=+1     ψ≥+2");
        foreach (var l in Layers)
        {
            long total = l.OffsetHistogram.Values.Sum();
            string Share(Func<int, bool> which) => (total == 0 ? 0 : 100.0 * l.OffsetHistogram.Where(kv => which(kv.Key)).Sum(kv => kv.Value) / total).ToString("F2", inv).PadLeft(7) + "% ";
            sb.Append(inv, $"{l.Name,-32} {l.Threshold,8:G4} {l.NeuronsPerImage,9} {l.FiringRate,7:F4} {100 * l.ShiftedUp,6:F2} {100 * l.ShiftedDown,6:F2} ");
            sb.AppendLine(Share(k => k <= lo) + Share(k => k == -1) + Share(k => k == 0) + Share(k => k == 1) + Share(k => k >= hi));
        }
        sb.AppendLine(inv, $"SynOps per image per step: {string.Join(" ", SynOpsPerStep.Select(s => s.ToString("E3", inv)))}; dense first-layer MACs per step: {DenseMacsPerStep:E3}");
        sb.AppendLine(inv, $"Energy per image (45 nm: {PicojoulesPerAccumulate} pJ/AC, {PicojoulesPerMac} pJ/MAC): SNN {SnnEnergyPicojoules / 1e6:F3} µJ over T={Steps}; ANN {AnnEnergyPicojoules / 1e6:F3} µJ ({AnnMacsPerImage:E3} MACs)");
        return sb.ToString();
    }
}
