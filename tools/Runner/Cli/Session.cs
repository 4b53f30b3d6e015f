using System.CommandLine;
using Spectre.Console;
using SpikeEngine.Runner.Engine;
using SpikeEngine.Runner.Output;
using SpikeEngine.Tensors;

namespace SpikeEngine.Runner.Cli;

/// <summary>One command invocation: its parsed options, the engine, the output streams and the cancellation token.</summary>
public sealed class Session(ParseResult parse, RunnerOptions options, IRunnerEngine engine, TextWriter output, TextWriter error, CancellationToken cancel)
{
    public ParseResult Parse { get; } = parse;
    public RunnerOptions Options { get; } = options;
    public IRunnerEngine Engine { get; } = engine;
    public TextWriter Out { get; } = output;
    public TextWriter Err { get; } = error;
    public CancellationToken Cancel { get; } = cancel;
    public IAnsiConsole Console { get; } = ConsoleFactory.For(output);

    public T Get<T>(Option<T> option) => Parse.GetValue(option)!;
    public bool Has(Option option) => Parse.GetResult(option) is { Implicit: false };

    /// <summary>Checks names and ranges of the options on this command before any work starts.</summary>
    public void Validate()
    {
        DatasetOption();
        ArchOption();
        if (Parse.GetResult(Options.Plot) is not null) Locations.PlotSize(Get(Options.PlotSize));
        Require(Options.BatchSize, v => v >= 1, "must be at least 1");
        Require(Options.SimLen, v => v >= 1, "must be at least 1 (time steps T)");
        Require(Options.PresimLen, v => v >= 0, "must be 0 (plain conversion) or more");
        Require(Options.Iterations, v => v >= 1, "must be at least 1");
        Require(Options.TrainEpochs, v => v >= 1, "must be at least 1");
        Require(Options.Seed, v => v >= 0, "must be 0 or more");
        Require(Options.Lr, v => v > 0 && double.IsFinite(v), "must be a positive number");
        Require(Options.Wd, v => v >= 0 && double.IsFinite(v), "must be 0 or a positive number");
        RequireOptional(Options.L, v => v is >= 1 and <= 1024, "must be between 1 and 1024");
        RequireOptional(Options.Limit, v => v >= 1, "must be at least 1");
        RequireOptional(Options.Threads, v => v >= 1, "must be at least 1");
    }

    private void Require<T>(Option<T> option, Func<T, bool> ok, string rule)
    {
        if (Parse.GetResult(option) is null) return;
        var v = Parse.GetValue(option)!;
        if (!ok(v)) throw new CliError($"{option.Name} {v}: {rule}.");
    }

    private void RequireOptional<T>(Option<T?> option, Func<T, bool> ok, string rule) where T : struct
    {
        if (Parse.GetResult(option) is null) return;
        if (Parse.GetValue(option) is T v && !ok(v)) throw new CliError($"{option.Name} {v}: {rule}.");
    }

    /// <summary>Parses --device, applies --CUDA_VISIBLE_DEVICES and --threads, and asks the engine for the device.</summary>
    public Device UseDevice()
    {
        Device device;
        try { device = Tensors.Device.Parse(Get(Options.Device)); }
        catch (ArgumentException e) { throw new CliError($"--device: {e.Message}"); }
        if (Parse.GetValue(Options.CudaVisibleDevices) is { Length: > 0 } visible)
            Environment.SetEnvironmentVariable("CUDA_VISIBLE_DEVICES", visible);
        Engine.UseDevice(device, Parse.GetValue(Options.Threads));
        return device;
    }

    public DatasetKind? DatasetOption() =>
        Parse.GetValue(Options.Dataset) is { } name ? Catalog.Dataset(name) : null;

    public string? ArchOption() =>
        Parse.GetValue(Options.NetArch) is { } name ? Catalog.Architecture(name) : null;

    public DataRequest Data(DatasetKind dataset) =>
        new(dataset,
            Locations.FindData(dataset, Parse.GetValue(Options.DataDir), Parse.GetValue(Options.TestDir), Get(Options.Download)),
            Get(Options.Download), Parse.GetValue(Options.Limit), Get(Options.Seed));

    /// <summary>
    /// Loads --load_model_name. The options fill in what the checkpoint does not say (a .pth has no
    /// metadata); where an option is given and the checkpoint disagrees, the engine refuses.
    /// </summary>
    public IModel LoadModel(string path, Device device)
    {
        var dataset = DatasetOption();
        var arch = ArchOption();
        var expected = new ModelSpec(arch ?? "vgg16", dataset?.Classes ?? 0, Parse.GetValue(Options.L) ?? 0,
            dataset?.Name ?? "");
        return Engine.Load(path, expected, arch is not null, device);
    }

    public string RequireCheckpoint(string command)
    {
        var name = Get(Options.LoadModelName);
        return Locations.FindCheckpoint(name, Get(Options.SaveDir))
               ?? throw new CliError($"{command} needs a checkpoint: pass --load_model_name FILE (.pth or .safetensors).");
    }

    /// <summary>The data set of a loaded model: --dataset if given, else the checkpoint's.</summary>
    public DatasetKind DatasetFor(IModel model)
    {
        if (DatasetOption() is { } d) return d;
        if (!string.IsNullOrEmpty(model.Spec.Dataset)) return Catalog.Dataset(model.Spec.Dataset);
        throw new CliError($"{model.Source} does not say which data set it was trained on: pass --dataset ({string.Join(", ", Catalog.Datasets.Select(x => x.Name))}).");
    }

    public void WriteLine(string text = "") => Out.WriteLine(text);
}
