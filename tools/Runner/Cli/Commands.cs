using System.Diagnostics;
using System.Text.Json.Nodes;
using Spectre.Console;
using SpikeEngine.Runner.Engine;
using SpikeEngine.Runner.Output;
using SpikeEngine.Tensors;

namespace SpikeEngine.Runner.Cli;

/// <summary>The command handlers. Each returns the process exit code; user errors are thrown as <see cref="CliError"/>.</summary>
public static class Commands
{
    public const int Interrupted = 130;

    // ---------------------------------------------------------------- train
    public static int Train(Session s)
    {
        s.Validate();
        var (outcome, _, _) = TrainModel(s);
        return outcome.Cancelled ? Interrupted : 0;
    }

    private static (TrainOutcome Outcome, DatasetKind Dataset, Device Device) TrainModel(Session s)
    {
        var o = s.Options;
        var dataset = s.DatasetOption() ?? Catalog.Dataset("CIFAR100");
        var arch = s.ArchOption() ?? "vgg16";
        int l = s.Parse.GetValue(o.L) ?? 4;
        var device = s.UseDevice();
        var data = s.Data(dataset);
        string trainFolder = data.Folder;
        if (dataset.Name == "ImageNet")
        {
            trainFolder = s.Parse.GetValue(o.TrainDir) ?? throw new CliError("ImageNet training needs --train_dir (<folder>/<class>/<image>).");
            if (!Directory.Exists(trainFolder)) throw new CliError($"--train_dir {Path.GetFullPath(trainFolder)} does not exist. {dataset.HowToGet}");
        }
        string? initFrom = Locations.FindCheckpoint(s.Get(o.LoadModelName), s.Get(o.SaveDir));
        var spec = new ModelSpec(arch, dataset.Classes, l, dataset.Name);
        string modelName = $"{dataset.Name}-{arch}-L{l}";
        var request = new TrainRequest(spec, data with { Folder = trainFolder }, data.Folder, s.Get(o.TrainEpochs), s.Get(o.BatchSize),
            s.Get(o.Lr), s.Get(o.Wd), s.Get(o.Seed), Path.Combine(s.Get(o.SaveDir), modelName), modelName, s.Get(o.Resume), initFrom, device);

        s.WriteLine($"Training {arch} (QCFS, L = {l}) on {dataset.Name} for {request.Epochs} epochs, batch {request.BatchSize}, " +
                    $"lr {request.LearningRate}, wd {request.WeightDecay}, seed {request.Seed}, {device}" +
                    (request.Resume ? ", resuming" : "") + (initFrom is null ? "" : $", starting from {initFrom}"));
        var clock = Stopwatch.StartNew();
        var progress = new TrainProgressPrinter(s.Out);
        var outcome = s.Engine.Train(request, progress.Report, s.Cancel);
        progress.Finish();
        if (outcome.Cancelled && File.Exists(outcome.LastPath))
            s.Err.WriteLine($"Training interrupted after {outcome.EpochsDone} epoch(s); last good checkpoint kept: {outcome.LastPath}. Continue with --resume.");
        else if (outcome.Cancelled)
            s.Err.WriteLine("Training interrupted before the first epoch finished; no checkpoint was written.");
        else
            s.WriteLine($"Done: {outcome.EpochsDone} epochs in {clock.Elapsed.TotalSeconds:F1} s; best test accuracy {Percent(outcome.BestAccuracy)} → {outcome.BestPath} (last: {outcome.LastPath})");

        WriteJson(s, new JsonObject
        {
            ["command"] = "train", ["dataset"] = dataset.Name, ["net_arch"] = arch, ["L"] = l,
            ["trainann_epochs"] = request.Epochs, ["epochs_done"] = outcome.EpochsDone,
            ["best_accuracy"] = JsonReport.Round(outcome.BestAccuracy), ["best_checkpoint"] = outcome.BestPath,
            ["last_checkpoint"] = outcome.LastPath, ["cancelled"] = outcome.Cancelled,
            ["seconds"] = JsonReport.Round(clock.Elapsed.TotalSeconds), ["device"] = device.ToString(),
        });
        return (outcome, dataset, device);
    }

    // ---------------------------------------------------------------- eval
    public static int Eval(Session s)
    {
        s.Validate();
        var device = s.UseDevice();
        var path = s.RequireCheckpoint("eval");
        var model = s.LoadModel(path, device);
        var dataset = s.DatasetFor(model);
        var data = s.Engine.OpenTest(s.Data(dataset));
        var clock = Stopwatch.StartNew();
        double acc = s.Engine.EvaluateAnn(model, data, s.Get(s.Options.BatchSize), s.Cancel);
        double seconds = clock.Elapsed.TotalSeconds;
        s.WriteLine($"{Describe(model)} on {data.Description} ({data.Count} images, {device})");
        s.WriteLine($"ANN accuracy: {Percent(acc)}  ({seconds:F1} s, {data.Count / Math.Max(seconds, 1e-9):F0} images/s)");
        WriteJson(s, new JsonObject
        {
            ["command"] = "eval", ["dataset"] = dataset.Name, ["net_arch"] = model.Spec.Arch, ["L"] = model.Spec.L,
            ["checkpoint"] = path, ["samples"] = data.Count, ["ann_accuracy"] = JsonReport.Round(acc),
            ["seconds"] = JsonReport.Round(seconds), ["images_per_second"] = JsonReport.Round(data.Count / Math.Max(seconds, 1e-9)),
            ["device"] = device.ToString(),
        });
        return 0;
    }

    // ---------------------------------------------------------------- snn
    public static int Snn(Session s)
    {
        s.Validate();
        var device = s.UseDevice();
        var path = s.RequireCheckpoint("snn");
        var model = s.LoadModel(path, device);
        SnnReport(s, model, path, device);
        return 0;
    }

    /// <summary>ANN accuracy, then the SNN with ρ = --presim_len for T = --sim_len steps (and plain conversion beside it for --plot).</summary>
    private static void SnnReport(Session s, IModel model, string checkpoint, Device device)
    {
        var o = s.Options;
        var dataset = s.DatasetFor(model);
        var data = s.Engine.OpenTest(s.Data(dataset));
        int batch = s.Get(o.BatchSize);
        var request = new SnnRequest(s.Get(o.PresimLen), s.Get(o.SimLen), s.Get(o.Iterations), batch);

        s.WriteLine($"{Describe(model)} on {data.Description} ({data.Count} images, {device}); ρ = {request.PresimLen}, T = {request.SimLen}" +
                    (request.Iterations > 1 ? $", k = {request.Iterations}" : ""));
        string? plotPath = s.Parse.GetValue(o.Plot);
        var runs = new List<SnnRequest> { request };
        if (plotPath is not null && request.PresimLen > 0) runs.Add(request with { PresimLen = 0, Iterations = 1 });
        var evaluation = s.Engine.EvaluateSnn(model, data, runs, s.Cancel);
        double ann = evaluation.AnnAccuracy;
        var run = evaluation.Runs[0];
        var plain = evaluation.Runs.Count > 1 ? evaluation.Runs[1] : null;
        s.WriteLine($"ANN accuracy: {Percent(ann)}");

        var table = new Table().AddColumn("t").AddColumn(request.PresimLen == 0 ? "SNN (plain)" : $"SNN (COS, ρ = {request.PresimLen})");
        if (plain is not null) table.AddColumn("SNN (plain)");
        foreach (int t in ReportSteps(request.SimLen))
        {
            var row = new List<string> { t.ToString(), Percent(run.AccuracyPerStep[t - 1]) };
            if (plain is not null) row.Add(Percent(plain.AccuracyPerStep[t - 1]));
            table.AddRow(row.ToArray());
        }
        s.Console.Write(table);
        double ips = run.Samples / Math.Max(run.Seconds, 1e-9);
        double latency = LatencyPerStepMs(run);
        s.WriteLine($"SNN: {run.Seconds:F1} s, {ips:F1} images/s, {latency:F2} ms per time step (batch {batch}, {request.PresimLen} + {request.SimLen} steps per layer)");
        s.WriteLine($"accuracy per step: [{string.Join(", ", run.AccuracyPerStep.Select(a => (a * 100).ToString("F2")))}]");

        if (plotPath is not null)
        {
            var (w, h) = Locations.PlotSize(s.Get(o.PlotSize));
            AccuracyPlot.Write(plotPath, w, h, $"{model.Spec.Arch} (L = {model.Spec.L}) on {dataset.Name}", ann,
                plain?.AccuracyPerStep ?? (request.PresimLen == 0 ? run.AccuracyPerStep : null),
                request.PresimLen > 0 ? run.AccuracyPerStep : null, request.PresimLen);
            s.WriteLine($"plot written to {plotPath}");
        }
        var json = new JsonObject
        {
            ["command"] = "snn", ["dataset"] = dataset.Name, ["net_arch"] = model.Spec.Arch, ["L"] = model.Spec.L,
            ["checkpoint"] = checkpoint, ["samples"] = run.Samples, ["ann_accuracy"] = JsonReport.Round(ann),
            ["presim_len"] = request.PresimLen, ["sim_len"] = request.SimLen, ["iterations"] = request.Iterations,
            ["batchsize"] = batch, ["accuracy_per_step"] = JsonReport.Array(run.AccuracyPerStep),
            ["seconds"] = JsonReport.Round(run.Seconds), ["images_per_second"] = JsonReport.Round(ips),
            ["latency_per_step_ms"] = JsonReport.Round(latency), ["device"] = device.ToString(),
        };
        if (plain is not null) json["plain_accuracy_per_step"] = JsonReport.Array(plain.AccuracyPerStep);
        WriteJson(s, json);
    }

    // ---------------------------------------------------------------- diagnose
    public static int Diagnose(Session s)
    {
        s.Validate();
        var o = s.Options;
        var device = s.UseDevice();
        var path = s.RequireCheckpoint("diagnose");
        var model = s.LoadModel(path, device);
        var dataset = s.DatasetFor(model);
        var data = s.Engine.OpenTest(s.Data(dataset));
        var request = new SnnRequest(s.Get(o.PresimLen), s.Get(o.SimLen), s.Get(o.Iterations), s.Get(o.BatchSize));
        var d = s.Engine.Diagnose(model, data, request, s.Cancel);

        s.WriteLine($"{Describe(model)} on {data.Description} ({d.Samples} images); T = {request.SimLen}, COS ρ = {request.PresimLen}");
        var table = new Table().AddColumns("layer", "neurons", "rate plain", "rate COS",
            "ψ plain (≤-2/-1/0/+1/≥2)", "ψ COS (≤-2/-1/0/+1/≥2)", "up", "down", "spikes/img/step");
        foreach (var l in d.Layers)
            table.AddRow(Markup.Escape(l.Layer), l.Neurons.ToString("N0"), l.FiringRatePlain.ToString("F4"), l.FiringRateCos.ToString("F4"),
                Histogram(l.OffsetHistogramPlain), Histogram(l.OffsetHistogramCos),
                Percent(l.ShareShiftedUp), Percent(l.ShareShiftedDown), l.SpikesPerImagePerStep.ToString("E3"));
        s.Console.Write(table);
        s.WriteLine($"Per image: ANN {d.AnnMacsPerImage:E3} MACs, {d.AnnEnergyJoulesPerImage * 1e6:F3} µJ; " +
                    $"SNN {d.SnnSynOpsPerImage:E3} SynOps + {d.SnnDenseMacsPerImage:E3} MACs (first layer) over T = {request.SimLen}, {d.SnnEnergyJoulesPerImage * 1e6:F3} µJ");
        s.WriteLine($"Energy constants: {d.EnergyConstants}");

        var layers = new JsonArray();
        foreach (var l in d.Layers)
            layers.Add(new JsonObject
            {
                ["layer"] = l.Layer, ["neurons"] = l.Neurons,
                ["firing_rate_plain"] = JsonReport.Round(l.FiringRatePlain), ["firing_rate_cos"] = JsonReport.Round(l.FiringRateCos),
                ["offset_histogram_plain"] = new JsonArray(l.OffsetHistogramPlain.Select(v => (JsonNode?)v).ToArray()),
                ["offset_histogram_cos"] = new JsonArray(l.OffsetHistogramCos.Select(v => (JsonNode?)v).ToArray()),
                ["shifted_up"] = JsonReport.Round(l.ShareShiftedUp), ["shifted_down"] = JsonReport.Round(l.ShareShiftedDown),
                ["spikes_per_image_per_step"] = l.SpikesPerImagePerStep,
            });
        WriteJson(s, new JsonObject
        {
            ["command"] = "diagnose", ["dataset"] = dataset.Name, ["net_arch"] = model.Spec.Arch, ["L"] = model.Spec.L,
            ["checkpoint"] = path, ["samples"] = d.Samples, ["presim_len"] = request.PresimLen, ["sim_len"] = request.SimLen,
            ["offset_histogram_bins"] = new JsonArray("<=-2", "-1", "0", "+1", ">=+2"),
            ["layers"] = layers, ["ann_macs_per_image"] = d.AnnMacsPerImage, ["snn_synops_per_image"] = d.SnnSynOpsPerImage,
            ["snn_dense_macs_per_image"] = d.SnnDenseMacsPerImage, ["ann_energy_joules_per_image"] = d.AnnEnergyJoulesPerImage,
            ["snn_energy_joules_per_image"] = d.SnnEnergyJoulesPerImage, ["energy_constants"] = d.EnergyConstants,
            ["device"] = device.ToString(),
        });
        return 0;
    }

    // ---------------------------------------------------------------- info
    public static int Info(Session s, string? positional)
    {
        var name = positional ?? s.Get(s.Options.LoadModelName);
        var path = Locations.FindCheckpoint(name, s.Get(s.Options.SaveDir))
                   ?? throw new CliError("info needs a checkpoint: info FILE or --load_model_name FILE (.pth or .safetensors).");
        var info = s.Engine.Summarize(path);
        var table = new Table().AddColumn("").AddColumn("");
        table.HideHeaders();
        table.AddRow("file", Markup.Escape(info.Path));
        table.AddRow("format", info.Format);
        table.AddRow("architecture", Markup.Escape(info.Arch ?? "(not recorded)"));
        table.AddRow("classes", info.Classes?.ToString() ?? "(not recorded)");
        table.AddRow("L", info.L?.ToString() ?? "(not recorded)");
        table.AddRow("dataset", Markup.Escape(info.Dataset ?? "(not recorded)"));
        table.AddRow("parameters", info.Parameters.ToString("N0"));
        table.AddRow("entries", info.Entries.ToString());
        foreach (var (k, v) in info.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            table.AddRow(Markup.Escape($"meta: {k}"), Markup.Escape(v));
        foreach (var note in info.Notes) table.AddRow("note", Markup.Escape(note));
        s.Console.Write(table);
        if (info.Lambdas.Count > 0)
        {
            var lambdas = new Table().AddColumn("QCFS layer").AddColumn("λ");
            foreach (var l in info.Lambdas) lambdas.AddRow(Markup.Escape(l.Layer), l.Lambda.ToString("G6"));
            s.Console.Write(lambdas);
        }
        var meta = new JsonObject();
        foreach (var (k, v) in info.Metadata) meta[k] = v;
        WriteJson(s, new JsonObject
        {
            ["command"] = "info", ["checkpoint"] = info.Path, ["format"] = info.Format, ["net_arch"] = info.Arch,
            ["classes"] = info.Classes, ["L"] = info.L, ["dataset"] = info.Dataset, ["parameters"] = info.Parameters,
            ["entries"] = info.Entries,
            ["lambdas"] = new JsonArray(info.Lambdas.Select(l => (JsonNode?)new JsonObject { ["layer"] = l.Layer, ["lambda"] = l.Lambda }).ToArray()),
            ["metadata"] = meta,
            ["notes"] = new JsonArray(info.Notes.Select(n => (JsonNode?)n).ToArray()),
        });
        return 0;
    }

    // ---------------------------------------------------------------- reference mode (no command, reference options)
    /// <summary>The reference's main.py: train first with --direct_training, else load --load_model_name; then the SNN evaluation.</summary>
    public static int Reference(Session s)
    {
        s.Validate();
        if (s.Get(s.Options.DirectTraining))
        {
            var (outcome, _, device) = TrainModel(s);
            if (outcome.Cancelled) return Interrupted;
            var trained = s.LoadModel(outcome.BestPath, device);
            SnnReport(s, trained, outcome.BestPath, device);
            return 0;
        }
        return Snn(s);
    }

    // ---------------------------------------------------------------- helpers
    internal static IEnumerable<int> ReportSteps(int simLen)
    {
        for (int t = 1; t < simLen; t *= 2) yield return t;
        yield return simLen;
    }

    /// <summary>Wall time per batch per simulated step (ρ + T steps per batch).</summary>
    internal static double LatencyPerStepMs(SnnOutcome run)
    {
        var r = run.Request;
        int batches = Math.Max(1, (run.Samples + r.BatchSize - 1) / r.BatchSize);
        return run.Seconds * 1000 / (batches * (double)(r.PresimLen + r.SimLen));
    }

    internal static string Percent(double fraction) => $"{fraction * 100:F2} %";

    private static string Histogram(long[] bins) => string.Join("/", bins);

    private static string Describe(IModel m) => $"{m.Spec.Arch} (QCFS, L = {m.Spec.L}, {m.Parameters:N0} parameters) from {m.Source}";

    internal static void WriteJson(Session s, JsonObject report)
    {
        if (s.Parse.GetValue(s.Options.Json) is { } path)
        {
            JsonReport.Write(path, report);
            s.WriteLine($"JSON written to {path}");
        }
    }
}

/// <summary>Prints training progress: one line per epoch; a live batch line on a terminal, else a batch line every 15 s.</summary>
internal sealed class TrainProgressPrinter(TextWriter output)
{
    private readonly bool _live = ConsoleFactory.IsTerminal(output);
    private readonly Stopwatch _sinceLine = Stopwatch.StartNew();
    private bool _lineOpen;

    public void Report(TrainProgress p)
    {
        if (p.TestAccuracy is double acc)
        {
            if (_lineOpen) { output.Write('\r'); _lineOpen = false; }
            output.WriteLine($"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:F4}  test {acc * 100:F2} %  {p.ImagesPerSecond:F0} img/s  {Format(p.Remaining)} left".PadRight(79));
        }
        else
        {
            string line = $"epoch {p.Epoch}/{p.Epochs}  batch {p.Batch}/{p.Batches}  loss {p.Loss:F4}  {p.ImagesPerSecond:F0} img/s  {Format(p.Remaining)} left";
            if (_live)
            {
                output.Write("\r" + line + "   ");
                _lineOpen = true;
            }
            else if (_sinceLine.Elapsed.TotalSeconds >= 15)
            {
                output.WriteLine(line);
                _sinceLine.Restart();
            }
        }
    }

    public void Finish()
    {
        if (_lineOpen) output.WriteLine();
        _lineOpen = false;
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
}
