using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpikeEngine.IO;
using SpikeEngine.Snn;

namespace SpikeEngine.Workflows;

/// <summary>One configuration of a results table: plain conversion (ρ = 0) or COS (ρ, k), its accuracy at every t = 1..T and, when recorded, its activity.</summary>
public sealed record ResultsRow(int PresimLen, int Iterations, double[] AccuracyPerStep, SpikeActivity? Activity)
{
    public string Name => PresimLen == 0 ? "plain conversion (ρ = 0)" : $"COS ρ = {PresimLen}, k = {Iterations}";
    public int SimLen => AccuracyPerStep.Length;
}

/// <summary>
/// The README's results table: the ANN beside SNN configurations at T = 1, 2, 4, …, with firing rates, SynOps and
/// energy per image, built from the Runner's <c>snn --json</c> (and <c>eval --json</c>) files of one checkpoint on
/// one test set. Each SNN file holds one run of the largest T; smaller T are read off its per-step results
/// (engine/METHOD.md §4: outputs up to t do not depend on T).
/// </summary>
public sealed record ResultsTable(string Checkpoint, string Dataset, string Arch, int Levels, long Samples, double AnnAccuracy,
    IReadOnlyList<ResultsRow> Rows)
{
    /// <summary>The readout times shown: 1, 2, 4, … up to the shortest run's T, and that T.</summary>
    public IReadOnlyList<int> Steps
    {
        get
        {
            int last = Rows.Min(r => r.SimLen);
            var steps = new List<int>();
            for (int t = 1; t < last; t *= 2) steps.Add(t);
            steps.Add(last);
            return steps;
        }
    }

    /// <summary>
    /// Reads result files: <c>snn --json</c> files (one row each, in the order given, a configuration at most once) and
    /// optionally one <c>eval --json</c>. All must be of the same checkpoint, data set and number of images, and agree
    /// on the ANN accuracy; <paramref name="files"/> pairs a file name (for errors) with its parsed object.
    /// </summary>
    public static ResultsTable FromJson(IEnumerable<(string Source, JsonObject Json)> files)
    {
        string? checkpoint = null, dataset = null, arch = null, first = null;
        int levels = 0;
        long samples = -1;
        double? ann = null;
        var rows = new List<ResultsRow>();
        foreach (var (source, json) in files)
        {
            string command = Text(json, "command", source);
            if (command is not ("snn" or "eval"))
                throw new InvalidDataException($"{source}: a '{command}' result; the table is made of 'snn' and 'eval' results (--json).");
            string c = Text(json, "checkpoint", source), d = Text(json, "dataset", source), a = Text(json, "net_arch", source);
            int l = Number<int>(json, "L", source);
            long n = Number<long>(json, "samples", source);
            double thisAnn = Number<double>(json, "ann_accuracy", source);
            if (first is null)
                (first, checkpoint, dataset, arch, levels, samples) = (source, c, d, a, l, n);
            else if ((c, d, a, l, n) != (checkpoint, dataset, arch, levels, samples))
                throw new InvalidDataException($"{source} is of {c} ({a}, L = {l}) on {n} {d} images, but {first} is of {checkpoint} ({arch}, L = {levels}) on {samples} {dataset} images; make every result with the same checkpoint and test images.");
            if (ann is double known && Math.Abs(known - thisAnn) > 1e-6)
                throw new InvalidDataException($"{source}: ANN accuracy {thisAnn} differs from {known} in the other results; were they made on the same images?");
            ann = thisAnn;
            if (command == "eval") continue;

            var run = json.Deserialize<SnnRunResult>(ResultJson.Options)
                ?? throw new InvalidDataException($"{source}: not an snn result.");
            if (run.AccuracyPerStep is not { Length: > 0 } || run.AccuracyPerStep.Length != run.SimLen)
                throw new InvalidDataException($"{source}: 'accuracy_per_step' must hold sim_len = {run.SimLen} values.");
            if (rows.Any(r => r.PresimLen == run.PresimLen && (r.Iterations == run.Iterations || run.PresimLen == 0)))
                throw new InvalidDataException($"{source}: ρ = {run.PresimLen}, k = {run.Iterations} appears twice among the results.");
            rows.Add(new ResultsRow(run.PresimLen, run.PresimLen == 0 ? 1 : run.Iterations, run.AccuracyPerStep, run.Activity));
        }
        if (rows.Count == 0) throw new InvalidDataException("No snn result among the files: give the snn --json files of the configurations.");
        return new ResultsTable(checkpoint!, dataset!, arch!, levels, samples, ann!.Value, rows);
    }

    /// <summary>Markdown for the README: the accuracy table, then (where recorded) the activity table, then how it was measured.</summary>
    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var steps = Steps;
        var sb = new StringBuilder();
        string header = "| top-1 % | " + string.Join(" | ", steps.Select(t => $"T = {t}")) + " |";
        sb.AppendLine(header);
        sb.AppendLine("|---|" + string.Concat(steps.Select(_ => "---|")));
        sb.AppendLine("| ANN (QCFS) | " + string.Join(" | ", steps.Select(_ => (100 * AnnAccuracy).ToString("F2", inv))) + " |");
        foreach (var r in Rows)
            sb.AppendLine($"| {r.Name} | " + string.Join(" | ", steps.Select(t => (100 * r.AccuracyPerStep[t - 1]).ToString("F2", inv))) + " |");

        var recorded = Rows.Where(r => r.Activity is not null).ToList();
        if (recorded.Count > 0)
        {
            var annMacs = recorded[0].Activity!.AnnMacsPerImage;
            sb.AppendLine();
            sb.AppendLine("| per image: firing rate · SynOps · energy vs ANN | " + string.Join(" | ", steps.Select(t => $"T = {t}")) + " |");
            sb.AppendLine("|---|" + string.Concat(steps.Select(_ => "---|")));
            foreach (var r in recorded)
                sb.AppendLine($"| {r.Name} | " + string.Join(" | ", steps.Select(t =>
                    $"{r.Activity!.FiringRateAt(t).ToString("F3", inv)} · {Millions(r.Activity.SynOpsAt(t))} · {r.Activity.EnergyVsAnnAt(t).ToString("F2", inv)}×")) + " |");
            sb.AppendLine();
            sb.AppendLine(inv, $"ANN: {Millions(annMacs)} MACs, {recorded[0].Activity!.AnnEnergyJoules * 1e6:F3} µJ per image. Firing rate: spikes per IF neuron per step over steps 1..T; " +
                $"SynOps: spike-driven accumulates of the max(ρ, T) steps the layers process; energy: {EnergyModel.PicojoulesPerAccumulate} pJ per SynOp, " +
                $"{EnergyModel.PicojoulesPerMac} pJ per MAC of the layers before the first IF layer at each step (45 nm).");
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"{Arch} (L = {Levels}), {Path.GetFileName(Checkpoint)}, {Samples:N0} {Dataset} test images; one run of T = {Rows.Max(r => r.SimLen)} per configuration, smaller T read off its steps.");
        return sb.ToString();
    }

    /// <summary>Every number, one row per configuration and readout time t = 1..T (the ANN as configuration "ann").</summary>
    public string ToCsv()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("configuration,presim_len,iterations,t,accuracy,firing_rate,synops_per_image,energy_joules_per_image,energy_vs_ann\n");
        int longest = Rows.Max(r => r.SimLen);
        for (int t = 1; t <= longest; t++)
            sb.AppendLine(inv, $"ann,,,{t},{R(AnnAccuracy)},,,,");
        foreach (var r in Rows)
            for (int t = 1; t <= r.SimLen; t++)
            {
                var a = r.Activity;
                string name = r.PresimLen == 0 ? "plain" : $"cos_rho{r.PresimLen}_k{r.Iterations}";
                string activity = a is null ? ",,,"
                    : string.Join(",", R(a.FiringRateAt(t)), a.SynOpsAt(t).ToString("R", inv), a.EnergyJoulesAt(t).ToString("R", inv), R(a.EnergyVsAnnAt(t)));
                sb.AppendLine(inv, $"{name},{r.PresimLen},{r.Iterations},{t},{R(r.AccuracyPerStep[t - 1])},{activity}");
            }
        return sb.ToString();

        static string R(double v) => ResultJson.Round(v).ToString("R", CultureInfo.InvariantCulture);
    }

    private static string Millions(double v) => (v / 1e6).ToString(v >= 1e7 ? "F1" : "F2", CultureInfo.InvariantCulture) + " M";

    private static string Text(JsonObject json, string key, string source) =>
        json[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s
            : throw new InvalidDataException($"{source}: '{key}' is missing or not text; is it a Runner --json result?");

    private static T Number<T>(JsonObject json, string key, string source) =>
        json[key] is JsonValue v && v.TryGetValue<T>(out var n) ? n
            : throw new InvalidDataException($"{source}: '{key}' is missing or not a number; is it a Runner --json result?");
}
