using System.CommandLine;
using System.CommandLine.Help;
using SpikeEngine.Distributed;

namespace SpikeEngine.Runner.Cli;

/// <summary>
/// The Runner's entry point: builds the command tree, parses, runs one command, and turns every
/// failure into one line on stderr and a non-zero exit code (SPIKEENGINE_TRACE=1 adds the stack trace).
/// </summary>
public static class RunnerCli
{
    public const int UsageError = 2;

    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancel = default)
    {
        int exitCode = 0;
        var root = Build(output, error, cancel, code => exitCode = code);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            error.WriteLine($"error: {parse.Errors[0].Message} (see --help)");
            return UsageError;
        }
        int invoked = parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        return parse.Action is HelpAction ? invoked : exitCode;
    }

    private static RootCommand Build(TextWriter output, TextWriter error, CancellationToken cancel, Action<int> setExit)
    {
        var root = new RootCommand(
            "SpikeEngine Runner: train QCFS networks and run them as spiking networks with offset-spike calibration (COS).\n" +
            "Without a command and without --load_model_name/--direct_training: the bundled Fashion-MNIST demo.\n" +
            "With the reference's options (no command): its main.py — train with --direct_training or load --load_model_name, then evaluate the SNN.");
        var rootOptions = RunnerOptions.AddTo(root, o => o.All());
        root.SetAction(p => Execute(p, rootOptions, output, error, cancel, setExit, s =>
            s.Get(s.Options.DirectTraining) || s.Has(s.Options.LoadModelName) ? Commands.Reference(s) : EmbeddedDefault.Run(s)));

        var train = new Command("train", "Train a QCFS ANN (the reference's --direct_training); saves best and last checkpoints to --savedir.");
        var trainOptions = RunnerOptions.AddTo(train, o => o.Common().Concat(o.Training()).Concat([o.LoadModelName, o.PlotSize]));
        train.SetAction(p => Execute(p, trainOptions, output, error, cancel, setExit, Commands.Train));
        root.Add(train);

        var eval = new Command("eval", "ANN accuracy of a checkpoint on the test set.");
        var evalOptions = RunnerOptions.AddTo(eval, o => o.Common().Concat([o.LoadModelName, o.SaveDir, o.Predictions]));
        eval.SetAction(p => Execute(p, evalOptions, output, error, cancel, setExit, Commands.Eval));
        root.Add(eval);

        var snn = new Command("snn", "Convert to an SNN, calibrate (ρ = --presim_len, 0 = plain), simulate --sim_len steps; accuracy at t = 1, 2, 4, ..., T.");
        var snnOptions = RunnerOptions.AddTo(snn, o => o.Common().Concat(o.Snn()).Concat([o.LoadModelName, o.SaveDir, o.Predictions, o.Plot, o.PlotSize]));
        snn.SetAction(p => Execute(p, snnOptions, output, error, cancel, setExit, Commands.Snn));
        root.Add(snn);

        var diagnose = new Command("diagnose", "Per IF layer: firing rates, offset-spike histograms plain vs COS, shifted neurons, SynOps and energy.");
        var diagOptions = RunnerOptions.AddTo(diagnose, o => o.Common().Concat(o.Snn()).Concat([o.LoadModelName, o.SaveDir]));
        diagnose.SetAction(p => Execute(p, diagOptions, output, error, cancel, setExit, Commands.Diagnose));
        root.Add(diagnose);

        var export = new Command("export", "Write a checkpoint out again: --format pth (a PyTorch state_dict with the reference's names) or safetensors (with metadata), to --out.");
        var exportOptions = RunnerOptions.AddTo(export, o => [o.LoadModelName, o.SaveDir, o.NetArch, o.L, o.Dataset, o.Format, o.Out, o.Meta, o.Json]);
        export.SetAction(p => Execute(p, exportOptions, output, error, cancel, setExit, Commands.Export));
        root.Add(export);

        var report = new Command("report", "The results table (Markdown, CSV, JSON) and accuracy-vs-t plot from snn/eval --json files of one checkpoint; see tools/results/.");
        var results = new Argument<string[]>("results") { Description = "snn --json files (one per configuration) and optionally one eval --json file.", Arity = ArgumentArity.OneOrMore };
        report.Add(results);
        var reportOptions = RunnerOptions.AddTo(report, o => [o.Out, o.PlotSize]);
        report.SetAction(p => Execute(p, reportOptions, output, error, cancel, setExit, s => Commands.Report(s, p.GetValue(results) ?? [])));
        root.Add(report);

        var curve = new Command("curve", "One training curve from the training_log.csv files of a run trained in phases (train --init_from): --out FOLDER gets training_log.csv and training_curve.png.");
        var logs = new Argument<string[]>("logs") { Description = "training_log.csv files, one per phase, in order.", Arity = ArgumentArity.OneOrMore };
        curve.Add(logs);
        var curveOptions = RunnerOptions.AddTo(curve, o => [o.Out, o.PlotSize]);
        curve.SetAction(p => Execute(p, curveOptions, output, error, cancel, setExit, s => Commands.Curve(s, p.GetValue(logs) ?? [])));
        root.Add(curve);

        var info = new Command("info", "Summary of a checkpoint (.pth, .safetensors or .onnx): architecture, parameters, λ per QCFS layer, an imported graph's layers.");
        var checkpoint = new Argument<string?>("checkpoint") { Description = "Checkpoint file (or use --load_model_name).", Arity = ArgumentArity.ZeroOrOne };
        info.Add(checkpoint);
        var infoOptions = RunnerOptions.AddTo(info, o => [o.LoadModelName, o.SaveDir, o.Json, o.MaxPoolToAvgPool]);
        info.SetAction(p => Execute(p, infoOptions, output, error, cancel, setExit, s => Commands.Info(s, p.GetValue(checkpoint))));
        root.Add(info);
        return root;
    }

    private static void Execute(ParseResult parse, RunnerOptions options, TextWriter output, TextWriter error,
        CancellationToken cancel, Action<int> setExit, Func<Session, int> command)
    {
        DistributedRun? ranks = null;
        try
        {
            ranks = JoinRanks(parse, options);
            // Every rank computes; rank 0 alone prints and writes files.
            var shown = ranks is { IsRoot: false } ? TextWriter.Null : output;
            int code = command(new Session(parse, options, shown, error, cancel) { Ranks = ranks });
            ranks?.Dispose();
            setExit(code);
        }
        catch (Exception e)
        {
            int code = Report(e, error, cancel, ranks is null ? "" : $"rank {ranks.Ranks.Rank}: ");
            setExit(code);
            error.Flush();
            ranks?.Fail(code); // ends the other ranks now instead of leaving them waiting in a collective
        }
    }

    /// <summary>The job this process belongs to under mpirun/srun (--distributed auto), else null (alone, no MPI loaded).</summary>
    private static DistributedRun? JoinRanks(ParseResult parse, RunnerOptions options)
    {
        if (parse.GetResult(options.Distributed) is null) return null; // a command without the option (info)
        var mode = parse.GetValue(options.Distributed)!.Trim().ToLowerInvariant();
        if (mode == "none") return null;
        if (mode != "auto") throw new CliError($"--distributed {mode}: expected auto or none.");
        double timeout = parse.GetValue(options.DistTimeout);
        if (!(timeout > 0) || !double.IsFinite(timeout)) throw new CliError($"--dist_timeout {timeout}: must be a positive number of seconds.");
        return Launch.Detect() is { } launch ? DistributedRun.Open(launch, TimeSpan.FromSeconds(timeout)) : null;
    }

    /// <summary>One line per failure: the message of a user error, or the exception's type and message otherwise.</summary>
    internal static int Report(Exception e, TextWriter error, CancellationToken cancel, string who = "")
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerExceptions[0];
        if (e is OperationCanceledException && cancel.IsCancellationRequested)
        {
            error.WriteLine($"error: {who}interrupted.");
            return Commands.Interrupted;
        }
        string message = e switch
        {
            CliError => e.Message,
            FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException
                or InvalidOperationException or NotSupportedException or IOException or UnauthorizedAccessException
                or DistributedException => e.Message,
            NotImplementedException => $"not available in this build yet: {e.Message}",
            _ => $"{e.GetType().Name}: {e.Message}",
        };
        error.WriteLine($"error: {who}" + OneLine(message));
        if (Environment.GetEnvironmentVariable("SPIKEENGINE_TRACE") == "1") error.WriteLine(e);
        return e is CliError c ? c.ExitCode : 1;
    }

    private static string OneLine(string text) =>
        string.Join(" ", text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
