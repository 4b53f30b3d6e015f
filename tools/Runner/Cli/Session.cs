using System.CommandLine;
using Spectre.Console;
using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.Runner.Output;
using SpikeEngine.Tensors;
using SpikeEngine.Workflows;

namespace SpikeEngine.Runner.Cli;

/// <summary>One command invocation: its parsed options, the output streams and the cancellation token.</summary>
public sealed class Session(ParseResult parse, RunnerOptions options, TextWriter output, TextWriter error, CancellationToken cancel)
{
    public ParseResult Parse { get; } = parse;
    public RunnerOptions Options { get; } = options;
    public TextWriter Out { get; } = output;
    public TextWriter Err { get; } = error;
    public CancellationToken Cancel { get; } = cancel;
    public IAnsiConsole Console { get; } = ConsoleFactory.For(output);
    /// <summary>The ranks of an mpirun/srun job this process is part of; null when it runs alone.</summary>
    public DistributedRun? Ranks { get; init; }
    /// <summary>Whether this process writes the result files (JSON, plots): the only one, or rank 0.</summary>
    public bool WritesFiles => Ranks?.IsRoot ?? true;

    public T Get<T>(Option<T> option) => Parse.GetValue(option)!;
    public bool Has(Option option) => Parse.GetResult(option) is { Implicit: false };

    /// <summary>Checks names and ranges of the options on this command before any work starts.</summary>
    public void Validate()
    {
        DatasetOption();
        ArchOption();
        if (Parse.GetResult(Options.Plot) is not null) AccuracyPlot.ParseSize(Get(Options.PlotSize));
        Require(Options.BatchSize, v => v >= 1, "must be at least 1");
        Require(Options.SimLen, v => v >= 1, "must be at least 1 (time steps T)");
        Require(Options.PresimLen, v => v >= 0, "must be 0 (plain conversion) or more");
        Require(Options.Iterations, v => v >= 1, "must be at least 1");
        Require(Options.TrainEpochs, v => v >= 1, "must be at least 1");
        Require(Options.Seed, v => v >= 0, "must be 0 or more");
        Require(Options.Lr, v => v > 0 && double.IsFinite(v), "must be a positive number");
        Require(Options.Wd, v => v >= 0 && double.IsFinite(v), "must be 0 or a positive number");
        Require(Options.InitialThreshold, v => v > 0 && double.IsFinite(v) && v <= float.MaxValue, "must be a positive number");
        RequireOptional(Options.L, v => v is >= 1 and <= 1024, "must be between 1 and 1024");
        RequireOptional(Options.Limit, v => v >= 1, "must be at least 1");
        RequireOptional(Options.TrainLimit, v => v >= 1, "must be at least 1");
        RequireOptional(Options.Threads, v => v >= 1, "must be at least 1");
        Require(Options.Percentile, v => v > 0 && v <= 100, "must be in (0, 100]");
        Require(Options.CalibrationImages, v => v >= 1, "must be at least 1");
        InputNormalization();
    }

    /// <summary>--mean and --std (both or neither, one value per channel), or null.</summary>
    public Normalization? InputNormalization()
    {
        string? mean = Parse.GetValue(Options.Mean), std = Parse.GetValue(Options.Std);
        if (mean is null && std is null) return null;
        if (mean is null || std is null) throw new CliError("--mean and --std go together (one value per channel each, e.g. --mean 0.5 --std 0.5).");
        var m = Floats(mean, Options.Mean.Name);
        var d = Floats(std, Options.Std.Name);
        if (m.Length != d.Length) throw new CliError($"--mean has {m.Length} values but --std has {d.Length}: give one per channel.");
        if (d.Any(v => !(v > 0))) throw new CliError($"--std {std}: every value must be positive.");
        return new Normalization(m, d);
    }

    private static float[] Floats(string text, string option) => text.Split(',', StringSplitOptions.TrimEntries).Select(p =>
        float.TryParse(p, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
            ? v : throw new CliError($"{option} {text}: expected comma-separated numbers.")).ToArray();

    /// <summary>--percentile, --calibration_images and the L thresholds are calibrated with (--L, else <paramref name="levels"/>).</summary>
    public SpikeEngine.Calibration.CalibrationSettings CalibrationSettings(int levels) => new()
    {
        Percentile = Get(Options.Percentile), Images = Get(Options.CalibrationImages), Levels = Parse.GetValue(Options.L) ?? levels,
    };

    public SpikeEngine.IO.Onnx.OnnxImportOptions OnnxOptions() => new() { MaxPoolToAvgPool = Get(Options.MaxPoolToAvgPool) };

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

    /// <summary>Parses --device, applies --CUDA_VISIBLE_DEVICES and --threads, and checks the device can be used.</summary>
    public Device UseDevice()
    {
        Device device;
        try { device = Tensors.Device.Parse(Get(Options.Device)); }
        catch (ArgumentException e) { throw new CliError($"--device: {e.Message}"); }
        if (Parse.GetValue(Options.CudaVisibleDevices) is { Length: > 0 } visible)
            Environment.SetEnvironmentVariable("CUDA_VISIBLE_DEVICES", visible);
        if (Ranks is not null) device = Ranks.DeviceFor(device, ordinalGiven: Get(Options.Device).Contains(':')); // one GPU per rank
        try { Devices.Select(device, Parse.GetValue(Options.Threads)); }
        catch (InvalidOperationException e) { throw new CliError($"--{e.Message}. Use --device cpu."); }
        return device;
    }

    public DatasetInfo? DatasetOption() =>
        Parse.GetValue(Options.Dataset) is { } name ? Catalog.Dataset(name) : null;

    public string? ArchOption() =>
        Parse.GetValue(Options.NetArch) is { } name ? Catalog.Architecture(name) : null;

    /// <summary>
    /// The folder the test images are read from: ImageNet --test_dir (else --datadir, whose val/ is used);
    /// the others --datadir (null: the engine's default folders).
    /// </summary>
    public string? TestFolder(DatasetInfo dataset)
    {
        var dataDir = Parse.GetValue(Options.DataDir);
        if (dataset.Name != "ImageNet") return dataDir;
        return Parse.GetValue(Options.TestDir) ?? dataDir
            ?? throw new CliError($"ImageNet needs --test_dir (a folder <val>/<class>/<image>) or --datadir holding val/. {Datasets.HowToGet("ImageNet")}");
    }

    /// <summary>The test split of <paramref name="dataset"/>, cut to --limit, downloaded first with --download.</summary>
    public ImageSplit OpenTestData(DatasetInfo dataset) =>
        DataSplits.Open(new DataRequest(dataset.Name)
        {
            Folder = TestFolder(dataset), Limit = Parse.GetValue(Options.Limit), Download = Get(Options.Download),
        });

    /// <summary>
    /// Loads --load_model_name. The options fill in what the checkpoint does not say (a .pth has no
    /// metadata); where an option is given and the checkpoint disagrees, the engine refuses.
    /// </summary>
    public LoadedModel LoadModel(string path, Device device) =>
        ModelLoader.Load(new ModelRequest(path)
        {
            Arch = ArchOption(), Levels = Parse.GetValue(Options.L), Dataset = DatasetOption()?.Name, Device = device,
            Normalization = InputNormalization(), Onnx = OnnxOptions(),
        });

    /// <summary>
    /// The model and its test data. With --dataset given the data is opened first, so a missing folder is reported
    /// before the (slower) checkpoint loading; otherwise the checkpoint says which data set it is for.
    /// </summary>
    public (LoadedModel Model, DatasetInfo Dataset, ImageSplit Data) LoadModelAndData(string command, Device device)
    {
        var given = DatasetOption();
        var early = given is null ? null : OpenTestData(given);
        var path = RequireCheckpoint(command);
        var model = LoadModel(path, device);
        var dataset = given ?? DatasetFor(model);
        return (model, dataset, early ?? OpenTestData(dataset));
    }

    public string RequireCheckpoint(string command) =>
        FindCheckpoint(Get(Options.LoadModelName))
        ?? throw new CliError($"{command} needs a checkpoint: pass --load_model_name FILE (.pth, .safetensors or .onnx).");

    /// <summary>
    /// Resolves a checkpoint name: 'none' → null; else the file, or NAME with a checkpoint extension
    /// (the reference appends .pth), each also inside --savedir.
    /// </summary>
    public string? FindCheckpoint(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        var places = new List<string> { name };
        if (!Path.IsPathRooted(name)) places.Add(Path.Combine(Get(Options.SaveDir), name));
        foreach (var place in places)
        {
            try { return SpikeEngine.IO.Checkpoints.ResolvePath(place); }
            catch (FileNotFoundException) { }
        }
        var tried = places.SelectMany(p => new[] { p }.Concat(SpikeEngine.IO.Checkpoints.Extensions.Select(e => p + e)));
        throw new CliError($"Checkpoint not found: tried {string.Join(", ", tried)}. " +
                           "Pass an existing .pth/.safetensors/.onnx file or train one with the train command.");
    }

    /// <summary>
    /// The first --calibration_images training images of <paramref name="dataset"/> (evaluation preprocessing), which
    /// an imported network's thresholds are computed on (ImageNet: --train_dir).
    /// </summary>
    public ImageSplit OpenCalibrationData(DatasetInfo dataset) =>
        DataSplits.Open(new DataRequest(dataset.Name)
        {
            Folder = dataset.Name == "ImageNet"
                ? Parse.GetValue(Options.TrainDir) ?? throw new CliError("Calibrating an imported ImageNet network needs --train_dir (its training images).")
                : Parse.GetValue(Options.DataDir),
            Split = DatasetSplit.Train, Limit = Get(Options.CalibrationImages), Download = Get(Options.Download),
        });

    /// <summary>The data set of a loaded model: --dataset if given, else the checkpoint's.</summary>
    public DatasetInfo DatasetFor(LoadedModel model)
    {
        if (DatasetOption() is { } d) return d;
        if (!string.IsNullOrEmpty(model.Dataset)) return Catalog.Dataset(model.Dataset);
        throw new CliError($"{model.Source} does not say which data set it was trained on: pass --dataset ({string.Join(", ", Datasets.Known.Select(x => x.Name))}).");
    }

    public void WriteLine(string text = "") => Out.WriteLine(text);
}
