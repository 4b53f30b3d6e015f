using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using SpikeEngine.Data;
using SpikeEngine.IO;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Runner.Output;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;
using SpikeEngine.Training;
using SpikeEngine.Workflows;

namespace SpikeEngine.Runner.Cli;

/// <summary>
/// The command handlers: options → engine use cases (SpikeEngine.Workflows) → console and files. Each returns
/// the process exit code; user errors are thrown as <see cref="CliError"/>.
/// </summary>
public static class Commands
{
    public const int Interrupted = 130;

    // ---------------------------------------------------------------- train
    public static int Train(Session s)
    {
        s.Validate();
        var (outcome, _) = TrainModel(s);
        return outcome.Cancelled ? Interrupted : 0;
    }

    private static (TrainingOutcome Outcome, Device Device) TrainModel(Session s)
    {
        var o = s.Options;
        var dataset = s.DatasetOption() ?? Catalog.Dataset("CIFAR100");
        string? initFrom = s.FindCheckpoint(s.Parse.GetValue(o.InitFrom) ?? s.Get(o.LoadModelName));
        bool imported = initFrom is not null && ModelLoader.IsImportedGraph(initFrom, s.OnnxOptions());
        if (imported && s.ArchOption() is { } given) throw new CliError($"{initFrom} is an imported network; --net_arch {given} does not apply to it.");
        var arch = imported ? GraphSpec.Arch : s.ArchOption() ?? "vgg16";
        int l = s.Parse.GetValue(o.L) ?? 4; // a new model: the reference's default L
        var device = s.UseDevice();
        string? trainFolder = s.Parse.GetValue(o.DataDir), testFolder = null;
        if (dataset.Name == "ImageNet")
        {
            trainFolder = s.Parse.GetValue(o.TrainDir) ?? throw new CliError("ImageNet training needs --train_dir (<folder>/<class>/<image>).");
            if (!Directory.Exists(trainFolder)) throw new CliError($"--train_dir {Path.GetFullPath(trainFolder)} does not exist. {Datasets.HowToGet("ImageNet")}");
            testFolder = s.TestFolder(dataset);
        }
        string modelName = $"{dataset.Name}-{arch}-L{l}";
        var request = new TrainRequest(arch, l, dataset.Name, Path.Combine(s.Get(o.SaveDir), modelName))
        {
            Folder = trainFolder, TestFolder = testFolder, Download = s.Get(o.Download),
            TrainLimit = s.Parse.GetValue(o.TrainLimit), TestLimit = s.Parse.GetValue(o.Limit),
            Epochs = s.Get(o.TrainEpochs), InitialThreshold = (float)s.Get(o.InitialThreshold), BatchSize = s.Get(o.BatchSize), LearningRate = s.Get(o.Lr), WeightDecay = s.Get(o.Wd),
            Seed = s.Get(o.Seed), Resume = s.Get(o.Resume), InitFrom = initFrom, Device = device,
            Augmentation = AugmentationOption(s.Get(o.Augment)), WarmupEpochs = s.Get(o.WarmupEpochs), LabelSmoothing = (float)s.Get(o.LabelSmoothing),
            SwaEpochs = s.Get(o.SwaEpochs), SwaLearningRate = s.Parse.GetValue(o.SwaLr),
            Calibration = s.CalibrationSettings(l), Normalization = s.InputNormalization(), Onnx = s.OnnxOptions(),
            Parallel = s.Ranks?.Parallel(device, s.Get(o.SyncBn), s.Get(o.CheckReplicas)),
        };
        if (initFrom is not null && s.Has(o.InitialThreshold))
            throw new CliError($"--initial_threshold sets a new model's λ; {initFrom} (--init_from/--load_model_name) brings its own.");
        if (request.WarmupEpochs < 0 || request.WarmupEpochs >= request.Epochs)
            throw new CliError($"--warmup_epochs {request.WarmupEpochs} must be between 0 and {request.Epochs - 1} (fewer than --trainann_epochs {request.Epochs}).");
        if (!(request.LabelSmoothing >= 0 && request.LabelSmoothing < 1))
            throw new CliError($"--label_smoothing {s.Get(o.LabelSmoothing)} must be in [0, 1) (0.1 is the usual choice; 0 = plain cross-entropy).");
        int swaRoom = request.Epochs - request.WarmupEpochs;
        if (request.SwaEpochs < 0 || request.SwaEpochs > swaRoom)
            throw new CliError($"--swa_epochs {request.SwaEpochs} must be between 0 and {swaRoom} (the --trainann_epochs {request.Epochs} after --warmup_epochs {request.WarmupEpochs}).");
        if (request.SwaLearningRate is { } swaLr && (request.SwaEpochs == 0 || !(swaLr > 0 && float.IsFinite((float)swaLr))))
            throw new CliError(request.SwaEpochs == 0 ? $"--swa_lr {swaLr} needs --swa_epochs N (the averaged epochs it applies to)."
                : $"--swa_lr {swaLr} must be a positive learning rate.");
        string? curvePath = s.Parse.GetValue(o.Curve);
        var (curveWidth, curveHeight) = AccuracyPlot.ParseSize(s.Get(o.PlotSize));
        TrainingRun.CheckData(request);
        int ranks = s.Ranks?.Ranks.Size ?? 1;

        s.WriteLine($"Training {arch} (QCFS, L = {l}) on {dataset.Name} for {request.Epochs} epochs, batch {request.BatchSize}, " +
                    $"lr {request.LearningRate}" + (request.WarmupEpochs > 0 ? $" ({request.WarmupEpochs} warm-up epochs)" : "") +
                    (request.LabelSmoothing > 0 ? $", label smoothing {request.LabelSmoothing}" : "") +
                    (request.SwaEpochs > 0 ? $", weight averaging over the last {request.SwaEpochs} epochs" + (request.SwaLearningRate is { } rate ? $" at lr {rate}" : "") : "") +
                    $", wd {request.WeightDecay}" + (s.Has(o.InitialThreshold) ? $", initial λ {request.InitialThreshold}" : "") + $", {AugmentationName(dataset.Name, request.Augmentation)} augmentation, seed {request.Seed}, {device}" +
                    (request.Resume ? ", resuming" : "") + (initFrom is null ? "" : $", starting from {initFrom}") +
                    (imported ? $" (imported network: ReLU thresholds = {request.Calibration.Percentile}th percentile over the first {request.Calibration.Images} training images, λ trainable)" : "") +
                    (ranks > 1 ? $"; {ranks} ranks ({s.Ranks!.Launch.Launcher}), {request.BatchSize / Math.Max(1, ranks)} images per rank and step" +
                                 (request.Parallel?.Device is not null ? ", gradients over NCCL" : ", gradients over MPI") : ""));
        var clock = Stopwatch.StartNew();
        bool drawsCurve = curvePath is not null && s.WritesFiles;
        void DrawCurve(IReadOnlyList<(int, double)>? averages = null) =>
            TrainingCurvePlot.Write(curvePath!, curveWidth, curveHeight, $"{arch} (QCFS, L = {l}) on {dataset.Name}", TrainingLog.Read(request.LogPath),
                averages: averages);
        var progress = new TrainProgressPrinter(s.Out, drawsCurve ? () => DrawCurve() : null);
        var outcome = TrainingRun.Run(request, progress, s.Cancel);
        progress.Finish();
        if (drawsCurve && outcome.SwaAccuracy is { } averaged) DrawCurve([(request.Epochs, averaged)]); // the average on the run's own curve
        s.Ranks?.Ranks.Barrier(); // rank 0's checkpoints are complete before any rank reads them
        if (request.Parallel is { CheckReplicas: true } checkedRun)
            s.WriteLine($"replicas: parameters bit for bit identical on all {ranks} ranks after each of {checkedRun.CheckedSteps} steps (checksum {checkedRun.LastChecksum:x16})");
        if (outcome.Cancelled && File.Exists(outcome.LastPath))
            s.Err.WriteLine($"Training interrupted after {outcome.EpochsDone} epoch(s); last good checkpoint kept: {outcome.LastPath}. Continue with --resume.");
        else if (outcome.Cancelled)
            s.Err.WriteLine("Training interrupted before the first epoch finished; no checkpoint was written.");
        else
        {
            s.WriteLine($"Done: {outcome.EpochsDone} epochs ({(outcome.EpochsRun < outcome.EpochsDone ? $"{outcome.EpochsRun} of them in this run, " : "")}{clock.Elapsed.TotalSeconds:F1} s); best test accuracy {Percent(outcome.BestAccuracy)} → {outcome.BestPath} (last: {outcome.LastPath})");
            if (outcome.SwaAccuracy is { } swa)
                s.WriteLine($"Weight average of epochs {request.Epochs - request.SwaEpochs + 1}–{request.Epochs} (BatchNorm statistics measured again on the training images): test accuracy {Percent(swa)} → {outcome.SwaPath}");
        }

        var json = Context("train", dataset.Name, arch, l);
        json["trainann_epochs"] = request.Epochs;
        json["training_log"] = request.LogPath;
        WriteJson(s, With(json, outcome, device));
        return (outcome, device);
    }

    private static Augmentation AugmentationOption(string text) => text.ToLowerInvariant() switch
    {
        "full" => Augmentation.Full,
        "basic" => Augmentation.Basic,
        "none" => Augmentation.None,
        _ => throw new CliError($"--augment '{text}' is not one of full, basic, none."),
    };

    /// <summary>What the training really applies: Fashion-MNIST and MNIST train on their images as they are (METHOD.md §1 augments CIFAR and ImageNet only).</summary>
    private static string AugmentationName(string dataset, Augmentation a) =>
        dataset is "FashionMNIST" or "MNIST" ? "no" : a.ToString().ToLowerInvariant();

    // ---------------------------------------------------------------- eval
    public static int Eval(Session s)
    {
        s.Validate();
        var device = s.UseDevice();
        var (model, dataset, data) = s.LoadModelAndData("eval", device);
        string? predictions = s.Parse.GetValue(s.Options.Predictions);
        var result = Evaluations.Ann(model, data, s.Get(s.Options.BatchSize), predictions is not null, s.Cancel, s.Ranks?.Ranks);
        s.WriteLine($"{Describe(model)} on {data.Description} ({data.Count} images, {device})");
        foreach (var note in model.Notes) s.WriteLine($"note: {note}");
        s.WriteLine($"ANN accuracy: {Percent(result.AnnAccuracy)}  ({result.Seconds:F1} s, {result.ImagesPerSecond:F0} images/s)" +
                    (model.Notes.Count > 0 ? " (after the changes noted above)" : ""));
        WritePredictions(s, predictions, result.Predictions, data);
        var json = Context("eval", dataset.Name, model.Arch, model.Levels);
        if (model.NeedsCalibration) json["L"] = null; // an imported ReLU network: no QCFS level yet
        json["checkpoint"] = model.Source;
        WriteJson(s, With(json, result, device));
        return 0;
    }

    // ---------------------------------------------------------------- snn
    public static int Snn(Session s)
    {
        s.Validate();
        var device = s.UseDevice();
        var (model, dataset, data) = s.LoadModelAndData("snn", device);
        var (calibrated, calibration) = CalibrateImported(s, model, dataset, data);
        SnnReport(s, calibrated, dataset, data, device, calibration);
        return 0;
    }

    /// <summary>ANN accuracy, then the SNN with ρ = --presim_len for T = --sim_len steps (and plain conversion beside it for --plot).</summary>
    private static void SnnReport(Session s, LoadedModel model, DatasetInfo dataset, ImageSplit data, Device device, CalibrationReport? calibration = null)
    {
        var o = s.Options;
        int batch = s.Get(o.BatchSize);
        var settings = new SimulationSettings(s.Get(o.SimLen), s.Get(o.PresimLen), s.Get(o.Iterations));

        s.WriteLine($"{Describe(model)} on {data.Description} ({data.Count} images, {device}); ρ = {settings.Presim}, T = {settings.Steps}" +
                    (settings.Iterations > 1 ? $", k = {settings.Iterations}" : ""));
        string? plotPath = s.Parse.GetValue(o.Plot);
        string? predictions = s.Parse.GetValue(o.Predictions);
        var runs = new List<SimulationSettings> { settings };
        if (plotPath is not null && settings.Presim > 0) runs.Add(new SimulationSettings(settings.Steps));
        var progress = new EvaluationProgressPrinter(s.Out);
        // With --json the runs are recorded for the activity (firing rates, SynOps, energy): it costs time, so only then.
        bool activity = s.Parse.GetValue(o.Json) is not null;
        var evaluation = Evaluations.Snn(model, data, runs, batch, predictions is not null, progress.Report, s.Cancel, recordActivity: activity, ranks: s.Ranks?.Ranks);
        progress.Finish();
        var run = evaluation.Runs[0];
        var plain = evaluation.Runs.Count > 1 ? evaluation.Runs[1] : null;
        s.WriteLine($"ANN accuracy: {Percent(evaluation.AnnAccuracy)}");

        var table = new Table().AddColumn("t").AddColumn(settings.Presim == 0 ? "SNN (plain)" : $"SNN (COS, ρ = {settings.Presim})");
        if (plain is not null) table.AddColumn("SNN (plain)");
        foreach (int t in ReportSteps(settings.Steps))
        {
            var row = new List<string> { t.ToString(), Percent(run.At(t)) };
            if (plain is not null) row.Add(Percent(plain.At(t)));
            table.AddRow(row.ToArray());
        }
        s.Console.Write(table);
        s.WriteLine($"SNN: {run.Seconds:F1} s, {ProgressLine.Rate(run.ImagesPerSecond)} images/s, {run.LatencyPerStepMs:F2} ms per time step (batch {batch}; ρ + T = {run.CostSteps} steps per IF layer" +
                    (activity ? "; spike recording for --json included)" : ")"));
        s.WriteLine($"accuracy per step: [{string.Join(", ", run.AccuracyPerStep.Select(a => (a * 100).ToString("F2")))}]");
        if (run.Activity is { } a)
            s.WriteLine($"per image at T = {settings.Steps}: firing rate {a.FiringRateAt(settings.Steps):F4}, {a.SynOpsAt(settings.Steps):E3} SynOps, " +
                        $"energy {a.EnergyJoulesAt(settings.Steps) * 1e6:F3} µJ = {a.EnergyVsAnnAt(settings.Steps):F2}× the ANN's ({a.AnnMacsPerImage:E3} MACs)");

        if (plotPath is not null && s.WritesFiles)
        {
            var (w, h) = AccuracyPlot.ParseSize(s.Get(o.PlotSize));
            AccuracyPlot.Write(plotPath, w, h, $"{model.Arch} (L = {model.Levels}) on {dataset.Name}", evaluation.AnnAccuracy,
                plain?.AccuracyPerStep ?? (settings.Presim == 0 ? run.AccuracyPerStep : null),
                settings.Presim > 0 ? run.AccuracyPerStep : null, settings.Presim);
            s.WriteLine($"plot written to {plotPath}");
        }
        WritePredictions(s, predictions, evaluation.Predictions, data);

        var json = Context("snn", dataset.Name, model.Arch, model.Levels);
        json["checkpoint"] = model.Source;
        if (calibration is not null) json["calibration"] = ResultJson.ToObject(calibration);
        json["samples"] = evaluation.Samples;
        json["ranks"] = evaluation.Ranks;
        json["ann_accuracy"] = ResultJson.Round(evaluation.AnnAccuracy);
        json = With(json, run, device);
        if (plain is not null) json["plain_accuracy_per_step"] = ResultJson.ToObject(plain)["accuracy_per_step"]!.DeepClone();
        WriteJson(s, json);
    }

    // ---------------------------------------------------------------- diagnose
    public static int Diagnose(Session s)
    {
        s.Validate();
        var o = s.Options;
        var device = s.UseDevice();
        var (loaded, dataset, data) = s.LoadModelAndData("diagnose", device);
        var (model, calibration) = CalibrateImported(s, loaded, dataset, data);
        var settings = new SimulationSettings(s.Get(o.SimLen), s.Get(o.PresimLen), s.Get(o.Iterations));
        var d = Diagnostics.Run(model, data, settings, s.Get(o.BatchSize), s.Cancel, s.Ranks?.Ranks);

        s.WriteLine($"{Describe(model)} on {data.Description} ({d.Samples} images); T = {settings.Steps}, COS ρ = {settings.Presim}");
        var table = new Table().AddColumns("layer", "neurons", "rate plain", "rate COS",
            "ψ plain (≤-2/-1/0/+1/≥2)", "ψ COS (≤-2/-1/0/+1/≥2)", "up", "down", "spikes/img/step");
        foreach (var l in d.Layers)
            table.AddRow(Markup.Escape(l.Layer), l.Neurons.ToString("N0"), l.FiringRatePlain.ToString("F4"), l.FiringRateCos.ToString("F4"),
                Histogram(l.OffsetHistogramPlain), Histogram(l.OffsetHistogramCos),
                Percent(l.ShiftedUp), Percent(l.ShiftedDown), l.SpikesPerImagePerStep.ToString("E3"));
        s.Console.Write(table);
        s.WriteLine($"Per image: ANN {d.AnnMacsPerImage:E3} MACs, {d.AnnEnergyJoulesPerImage * 1e6:F3} µJ; " +
                    $"SNN {d.SnnSynopsPerImage:E3} SynOps + {d.SnnDenseMacsPerImage:E3} MACs (first layer) over T = {settings.Steps}, {d.SnnEnergyJoulesPerImage * 1e6:F3} µJ");
        s.WriteLine($"Energy constants: {d.EnergyConstants}");

        var json = Context("diagnose", dataset.Name, model.Arch, model.Levels);
        json["checkpoint"] = model.Source;
        if (calibration is not null) json["calibration"] = ResultJson.ToObject(calibration);
        WriteJson(s, With(json, d, device));
        return 0;
    }

    /// <summary>
    /// An imported network's ReLUs get data-based thresholds (METHOD.md §9) from the first --calibration_images training
    /// images; the ANN accuracy before and after is printed (what the clipping cost). Other models pass unchanged.
    /// </summary>
    private static (LoadedModel, CalibrationReport?) CalibrateImported(Session s, LoadedModel model, DatasetInfo dataset, ImageSplit test)
    {
        if (!model.NeedsCalibration) return (model, null);
        var settings = s.CalibrationSettings(model.Levels);
        var calibrationData = s.OpenCalibrationData(dataset);
        s.WriteLine($"Imported network {model.Source}: thresholds λ = {settings.Percentile}th percentile of each ReLU's positive activations " +
                    $"over the first {calibrationData.Count} {dataset.Name} training images, QCFS L = {settings.Levels}");
        var (calibrated, report) = Calibrations.Run(model, calibrationData, test, settings, s.Get(s.Options.BatchSize), s.Cancel);
        var table = new Table().AddColumns("ReLU", "λ", "largest activation", "positive activations");
        foreach (var l in report.Layers)
            table.AddRow(Markup.Escape(l.Layer), l.Lambda.ToString("G5"), l.MaxActivation.ToString("G5"), l.PositiveActivations.ToString("N0"));
        s.Console.Write(table);
        foreach (var note in report.Notes) s.WriteLine($"note: {note}");
        s.WriteLine($"ANN accuracy on {test.Description} ({report.Samples} images): original {Percent(report.AnnAccuracyOriginal)}" +
                    (report.Notes.Count > 0 ? " (after the changes noted)" : "") +
                    $", with QCFS thresholds (L = {report.Levels}) {Percent(report.AnnAccuracyCalibrated)}");
        return (calibrated, report);
    }

    // ---------------------------------------------------------------- export
    /// <summary>Loads --load_model_name and writes it as --format (pth or safetensors) to --out.</summary>
    public static int Export(Session s)
    {
        s.Validate();
        var o = s.Options;
        string output = s.Parse.GetValue(o.Out) is { Length: > 0 } given ? given
            : throw new CliError("export needs --out FILE: the .pth or .safetensors file to write.");
        var format = ExportFormatOf(s.Parse.GetValue(o.Format), output);
        Dictionary<string, string> notes;
        try { notes = Exports.ParseNotes(s.Parse.GetValue(o.Meta) ?? []); }
        catch (ArgumentException e) { throw new CliError($"--meta: {e.Message}"); }
        if (notes.Count > 0 && format != ExportFormat.SafeTensors)
            throw new CliError("--meta needs --format safetensors: a .pth state_dict has no place for metadata.");
        var model = s.LoadModel(s.RequireCheckpoint("export"), Device.Cpu);
        var result = Exports.Write(model, format, output, notes);
        string name = Exports.FormatNames.First(kv => kv.Value == format).Key;
        s.WriteLine($"{Describe(model)} → {result.Path} ({name}, {result.Tensors} tensors, {result.Bytes:N0} bytes)");
        var json = Context("export", model.Dataset, model.Arch, model.Levels);
        json["checkpoint"] = model.Source;
        json["format"] = name;
        json["out"] = result.Path;
        json["tensors"] = result.Tensors;
        json["parameters"] = result.Parameters;
        json["bytes"] = result.Bytes;
        WriteJson(s, json);
        return 0;
    }

    /// <summary>--format if given (and consistent with --out's extension), else the extension's format.</summary>
    private static ExportFormat ExportFormatOf(string? formatOption, string output)
    {
        var byExtension = Exports.FormatOfPath(output);
        if (formatOption is null)
            return byExtension ?? throw new CliError($"export: --out {output} does not end in .pth or .safetensors; give --format pth or --format safetensors.");
        ExportFormat format;
        try { format = Exports.ParseFormat(formatOption); }
        catch (ArgumentException e) { throw new CliError($"--format: {e.Message}"); }
        if (byExtension is { } other && other != format)
            throw new CliError($"--format {formatOption} but --out {output} has the extension of the other format; make them agree.");
        return format;
    }

    // ---------------------------------------------------------------- curve
    /// <summary>The training_log.csv files of a phased run as one curve: --out FOLDER/training_log.csv and training_curve.png.</summary>
    public static int Curve(Session s, string[] logs)
    {
        var folder = s.Parse.GetValue(s.Options.Out) is { Length: > 0 } o ? o
            : throw new CliError("curve needs --out FOLDER: where training_log.csv and training_curve.png go.");
        if (logs.Length == 0) throw new CliError("curve needs the training logs: curve --out FOLDER PHASE1/training_log.csv PHASE2/training_log.csv …");
        var (width, height) = AccuracyPlot.ParseSize(s.Get(s.Options.PlotSize));
        List<TrainingLog.Row> rows;
        List<int> starts;
        try { (rows, starts) = TrainingLog.Concatenate(logs); }
        catch (Exception e) when (e is IOException or InvalidDataException) { throw new CliError($"curve: {e.Message}"); }
        Directory.CreateDirectory(folder);
        string csv = Path.Combine(folder, TrainingLog.FileName), png = Path.Combine(folder, "training_curve.png");
        TrainingLog.Write(csv, rows);
        string phases = starts.Count == 0 ? "" : $" in {starts.Count + 1} phases (new phase at epoch {string.Join(", ", starts)})";
        // A phase trained with --swa_epochs has its weight average beside its log: marked at the phase's last epoch.
        var ends = starts.Select(start => start - 1).Append(rows.Count).ToList();
        var averages = new List<(int Epoch, double Accuracy)>();
        for (int i = 0; i < logs.Length; i++)
            if (WeightAverageAccuracy(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(logs[i]))!, TrainingCheckpoint.SwaFile)) is { } accuracy)
                averages.Add((ends[i], accuracy));
        TrainingCurvePlot.Write(png, width, height, $"{rows.Count} epochs{phases}", rows, starts, averages);
        var last = rows[^1];
        var best = rows.MaxBy(r => r.TestAccuracy)!;
        s.WriteLine($"{rows.Count} epochs{phases}; best test accuracy {Percent(best.TestAccuracy)} at epoch {best.Epoch}, last {Percent(last.TestAccuracy)}" +
                    string.Concat(averages.Select(a => $", weight average up to epoch {a.Epoch} {Percent(a.Accuracy)}")) +
                    $"; {rows.Sum(r => r.Seconds) / 3600:F1} h of epochs");
        s.WriteLine($"written: {csv}, {png}");
        return 0;
    }

    /// <summary>The test accuracy recorded in a weight average written by the trainer; null when there is no such file.</summary>
    private static double? WeightAverageAccuracy(string path)
    {
        if (!File.Exists(path)) return null;
        Dictionary<string, string> metadata;
        try { metadata = SafeTensors.ReadMetadata(path); }
        catch (InvalidDataException e) { throw new CliError($"curve: {e.Message}"); }
        return metadata.TryGetValue(ModelMetadata.AccuracyKey, out var text)
               && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var accuracy)
            ? accuracy : throw new CliError($"curve: {path} has no test accuracy in its metadata ('{ModelMetadata.AccuracyKey}'); not a weight average written by train --swa_epochs.");
    }

    // ---------------------------------------------------------------- report
    /// <summary>
    /// The README results table from snn/eval --json files: writes results.md, results.csv, results.json and
    /// accuracy_vs_t.png into --out (a folder).
    /// </summary>
    public static int Report(Session s, string[] files)
    {
        var folder = s.Parse.GetValue(s.Options.Out) is { Length: > 0 } o ? o
            : throw new CliError("report needs --out FOLDER: where results.md, results.csv, results.json and accuracy_vs_t.png go.");
        if (files.Length == 0) throw new CliError("report needs the result files: report --out FOLDER A.json B.json … (snn --json and eval --json outputs).");
        var (width, height) = AccuracyPlot.ParseSize(s.Get(s.Options.PlotSize));
        var parsed = new List<(string, JsonObject)>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new CliError($"report: {file} not found.");
            try
            {
                parsed.Add((file, JsonNode.Parse(File.ReadAllText(file)) as JsonObject
                    ?? throw new CliError($"report: {file} does not hold a JSON object.")));
            }
            catch (System.Text.Json.JsonException e) { throw new CliError($"report: {file} is not valid JSON ({e.Message})."); }
        }
        var table = ResultsTable.FromJson(parsed);
        Directory.CreateDirectory(folder);
        string md = Path.Combine(folder, "results.md"), csv = Path.Combine(folder, "results.csv"),
            json = Path.Combine(folder, "results.json"), png = Path.Combine(folder, "accuracy_vs_t.png");
        AtomicFile.Write(md, st => st.Write(System.Text.Encoding.UTF8.GetBytes(table.ToMarkdown())));
        AtomicFile.Write(csv, st => st.Write(System.Text.Encoding.UTF8.GetBytes(table.ToCsv())));
        var all = new JsonObject { ["command"] = "report", ["sources"] = new JsonArray(files.Select(f => (JsonNode?)f).ToArray()) };
        ResultJson.Write(json, With(all, table, device: null));
        AccuracyPlot.Write(png, width, height, $"{table.Arch} (L = {table.Levels}) on {table.Samples:N0} {table.Dataset} test images",
            table.AnnAccuracy, table.Rows.Select(r => (r.Name, r.AccuracyPerStep)));
        s.Out.Write(table.ToMarkdown());
        s.WriteLine($"written: {md}, {csv}, {json}, {png}");
        return 0;
    }

    // ---------------------------------------------------------------- info
    public static int Info(Session s, string? positional)
    {
        var name = positional ?? s.Get(s.Options.LoadModelName);
        var path = s.FindCheckpoint(name)
                   ?? throw new CliError("info needs a checkpoint: info FILE or --load_model_name FILE (.pth, .safetensors or .onnx).");
        var info = CheckpointSummary.Load(path, s.OnnxOptions());
        var table = new Table().AddColumn("").AddColumn("");
        table.HideHeaders();
        table.AddRow("file", Markup.Escape(info.Path));
        table.AddRow("format", CheckpointSummary.NameOf(info.Format));
        table.AddRow("architecture", Markup.Escape(info.Arch ?? "(not recorded)"));
        table.AddRow("classes", info.Classes?.ToString() ?? "(not recorded)");
        table.AddRow("L", info.Levels?.ToString() ?? "(not recorded)");
        table.AddRow("dataset", Markup.Escape(info.Dataset ?? "(not recorded)"));
        table.AddRow("parameters", info.ParameterCount.ToString("N0"));
        table.AddRow("entries", info.TensorCount.ToString());
        foreach (var (k, v) in info.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (k != GraphSpec.MetadataKey) table.AddRow(Markup.Escape($"meta: {k}"), Markup.Escape(v)); // the graph: the layer table below
        foreach (var note in info.Notes) table.AddRow("note", Markup.Escape(note));
        s.Console.Write(table);
        if (info.Layers.Count > 0)
        {
            var layers = new Table().AddColumns("layer", "op", "what", "parameters");
            foreach (var l in info.Layers) layers.AddRow(Markup.Escape(l.Layer), l.Op, Markup.Escape(l.Description), l.Parameters.ToString("N0"));
            s.Console.Write(layers);
        }
        if (info.Thresholds.Count > 0)
        {
            var lambdas = new Table().AddColumn("QCFS layer").AddColumn("λ");
            foreach (var l in info.Thresholds) lambdas.AddRow(Markup.Escape(l.Layer), l.Lambda.ToString("G6"));
            s.Console.Write(lambdas);
        }
        WriteJson(s, With(new JsonObject { ["command"] = "info" }, info, device: null));
        return 0;
    }

    // ---------------------------------------------------------------- reference mode (no command, reference options)
    /// <summary>The reference's main.py: train first with --direct_training, else load --load_model_name; then the SNN evaluation.</summary>
    public static int Reference(Session s)
    {
        s.Validate();
        if (s.Get(s.Options.DirectTraining))
        {
            var (outcome, device) = TrainModel(s);
            if (outcome.Cancelled) return Interrupted;
            var trained = s.LoadModel(outcome.BestPath, device);
            var dataset = s.DatasetFor(trained);
            SnnReport(s, trained, dataset, s.OpenTestData(dataset), device);
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

    internal static string Percent(double fraction) => $"{fraction * 100:F2} %";

    private static string Histogram(long[] bins) => string.Join("/", bins);

    private static string Describe(LoadedModel m) => m.NeedsCalibration
        ? $"imported network (ReLU, {m.Parameters:N0} parameters) from {m.Source}"
        : $"{m.Arch} (QCFS, L = {m.Levels}, {m.Parameters:N0} parameters) from {m.Source}";

    /// <summary>The fields every model command's JSON starts with.</summary>
    private static JsonObject Context(string command, string? dataset, string arch, int levels) =>
        new() { ["command"] = command, ["dataset"] = dataset, ["net_arch"] = arch, ["L"] = levels };

    /// <summary>The report: its context, then the engine record's JSON (fields already present kept), then the device.</summary>
    private static JsonObject With<T>(JsonObject report, T record, Device? device)
    {
        foreach (var (key, value) in ResultJson.ToObject(record))
            if (!report.ContainsKey(key)) report[key] = value?.DeepClone();
        if (device is { } d) report["device"] = d.ToString();
        return report;
    }

    private static void WritePredictions(Session s, string? path, PredictionTable? table, ImageSplit data)
    {
        if (path is null || table is null) return;
        PredictionsCsv.Write(path, table, data);
        s.WriteLine($"predictions written to {path} ({table.Indices.Length} images)");
    }

    internal static void WriteJson(Session s, JsonObject report)
    {
        if (s.Parse.GetValue(s.Options.Json) is { } path && s.WritesFiles)
        {
            ResultJson.Write(path, report);
            s.WriteLine($"JSON written to {path}");
        }
    }
}

/// <summary>Prints training progress: one line per epoch; a live batch line on a terminal, else a batch line every 15 s.</summary>
internal sealed class TrainProgressPrinter(TextWriter output, Action? afterEpoch = null) : IProgress<TrainingProgress>
{
    /// <summary>Three significant digits without an exponent (8.11E-05 reads badly in a column of 0.0x rates).</summary>
    internal static string LearningRateText(double lr) =>
        double.Parse(lr.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).ToString("0.##########", CultureInfo.InvariantCulture);

    private readonly ProgressLine _line = new(output);

    public void Report(TrainingProgress p)
    {
        if (p.Completed is { } done)
        {
            _line.Clear();
            string speed = p.ImagesPerSecond > 0 ? $"  {p.ImagesPerSecond:F0} img/s" : "";
            output.WriteLine($"epoch {p.Epoch}/{p.Epochs}  lr {LearningRateText(done.LearningRate)}  loss {done.TrainLoss:F4}  train {done.TrainAccuracy * 100:F2} %  test {done.Test.Top1 * 100:F2} %{speed}  {done.Duration.TotalSeconds:F0} s  {ProgressLine.Duration(p.Remaining)} left".PadRight(79));
            afterEpoch?.Invoke();
        }
        else if (p.Stage is not null)
        {
            _line.Show($"{p.Stage}  batch {p.Batch}/{p.Batches}  {p.ImagesPerSecond:F0} img/s  {ProgressLine.Duration(p.Remaining)} left");
        }
        else
        {
            _line.Show($"epoch {p.Epoch}/{p.Epochs}  batch {p.Batch}/{p.Batches}  loss {p.Loss:F4}  {p.ImagesPerSecond:F0} img/s  {ProgressLine.Duration(p.Remaining)} left");
        }
    }

    public void Finish() => _line.Finish();
}

/// <summary>Prints evaluation progress (batches done, images/s, time left, ANN accuracy so far) as a <see cref="ProgressLine"/>.</summary>
internal sealed class EvaluationProgressPrinter(TextWriter output)
{
    private readonly ProgressLine _line = new(output);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Report(EvaluationProgress p)
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        var left = TimeSpan.FromSeconds(seconds / p.Batch * (p.Batches - p.Batch));
        _line.Show($"batch {p.Batch}/{p.Batches}  {ProgressLine.Rate(p.Images / seconds)} img/s  {ProgressLine.Duration(left)} left  ANN so far {100 * p.AnnAccuracy:F2} %");
    }

    public void Finish() => _line.Finish();
}

/// <summary>A progress line: rewritten in place on a terminal; elsewhere (a log, a pipe) written at most every 15 s.</summary>
internal sealed class ProgressLine(TextWriter output)
{
    private readonly bool _live = ConsoleFactory.IsTerminal(output);
    private readonly Stopwatch _sinceLine = Stopwatch.StartNew();
    private bool _lineOpen;

    public void Show(string line)
    {
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

    /// <summary>Ends an open live line so the next output starts on its own line.</summary>
    public void Finish()
    {
        if (_lineOpen) output.WriteLine();
        _lineOpen = false;
    }

    /// <summary>Clears an open live line before a full line is written over it.</summary>
    public void Clear()
    {
        if (_lineOpen) output.Write('\r');
        _lineOpen = false;
    }

    /// <summary>A rate with the digits that matter: 1234, 12.3, 0.042 (ImageNet SNNs on a CPU run below 0.05 images/s).</summary>
    public static string Rate(double perSecond) => perSecond >= 100 ? $"{perSecond:F0}" : perSecond >= 1 ? $"{perSecond:F1}" : $"{perSecond:G2}";

    public static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
}
