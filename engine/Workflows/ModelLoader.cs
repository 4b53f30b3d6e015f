using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.IO;
using SpikeEngine.IO.Onnx;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Nn.Models;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Workflows;

/// <summary>
/// A checkpoint to load. Each null field is taken from the checkpoint (its metadata, else what its tensors show).
/// A given architecture or data set (class count) the checkpoint contradicts is an error; a given L is used as
/// given. L has no fallback: a file that does not record it (every .pth) needs <see cref="Levels"/>.
/// </summary>
public sealed record ModelRequest(string Checkpoint)
{
    public string? Arch { get; init; }
    /// <summary>QCFS quantisation level L.</summary>
    public int? Levels { get; init; }
    public string? Dataset { get; init; }
    public Device Device { get; init; } = Device.Cpu;
    /// <summary>Per-channel input normalisation replacing the checkpoint's (an ONNX file records none: [0, 1] pixels by default).</summary>
    public Normalization? Normalization { get; init; }
    /// <summary>How an .onnx file is imported (max pooling swapped for average pooling or refused).</summary>
    public OnnxImportOptions Onnx { get; init; } = new();
}

/// <summary>A QCFS network loaded from a checkpoint, on its device, in eval mode; its converted SNN is made on first use.</summary>
public sealed class LoadedModel(ModelMetadata metadata, Module ann, string source, Device device)
{
    private SpikingNetwork? _snn;

    /// <summary>Architecture, classes, L, data set and normalisation as loaded (data set and normalisation may be null
    /// when neither the request nor the file names them).</summary>
    public ModelMetadata Metadata { get; } = metadata;
    public string Arch => Metadata.Arch!;
    public int Classes => Metadata.Classes!.Value;
    public int Levels => Metadata.Levels!.Value;
    public string? Dataset => Metadata.Dataset;
    public Module Ann { get; } = ann;
    /// <summary>The file the weights came from.</summary>
    public string Source { get; } = source;
    /// <summary>Where the model's weights are; every batch it sees is moved here (<see cref="DevicePlacement"/>).</summary>
    public Device Device { get; } = device;
    /// <summary>The input normalisation the checkpoint records (null: the data set's).</summary>
    public Normalization? Normalization => Metadata.Normalization;
    public long Parameters => Ann.ParameterCount;

    /// <summary>The converted network (conversion works on a copy; the ANN stays as it is).</summary>
    public SpikingNetwork Snn => _snn ??= SpikingNetwork.Convert(Ann);

    /// <summary>An imported graph whose ReLUs still need thresholds (<see cref="Calibrations"/>) before it converts.</summary>
    public bool NeedsCalibration => Ann is GraphNetwork g && g.Spec.Nodes.Any(n => n.Op == GraphOps.Relu);

    /// <summary>What loading changed (an ONNX import's max-pooling swap, …).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Batches of <paramref name="data"/> for this model: its recorded normalisation, else the data set's.</summary>
    public DataLoader Loader(ImageSplit data, int batchSize) => data.Loader(batchSize, Normalization);

    /// <summary>This rank's whole batches of <paramref name="data"/> (<see cref="ShardKind.Batches"/>); all of them when <paramref name="ranks"/> is null.</summary>
    public DataLoader Loader(ImageSplit data, int batchSize, ICommunicator? ranks) =>
        ranks is null ? Loader(data, batchSize) : data.Loader(batchSize, Normalization, DataShard.For(ranks, ShardKind.Batches));
}

public static class ModelLoader
{
    /// <summary>Reads the checkpoint, builds the model it describes, loads the weights (strictly), places it on the device.</summary>
    public static LoadedModel Load(ModelRequest request)
    {
        var checkpoint = Checkpoints.Load(request.Checkpoint, request.Onnx);
        var meta = checkpoint.Metadata;
        if (meta.Extra.TryGetValue(GraphSpec.MetadataKey, out var graph)) return LoadGraph(request, checkpoint, graph);
        var found = checkpoint.Architecture;
        string? given = request.Arch is null ? null : CanonicalArch(request.Arch);
        if (given is not null) Checkpoints.CheckArchitecture(checkpoint, given);
        string? recorded = meta.Arch ?? found?.Arch;
        string arch = given ?? (recorded is null
            ? throw new InvalidDataException($"{checkpoint.Path} does not say which architecture it holds and its tensors do not show it: give the architecture (--net_arch).")
            : ModelZoo.Canonical(recorded) ?? recorded);

        // A requested data set must be known; a recorded one the engine does not know is kept by name only.
        DatasetInfo? dataset = request.Dataset is not null ? Datasets.Info(request.Dataset)
            : meta.Dataset is { } recordedName ? TryInfo(recordedName) : null;
        string? datasetName = dataset?.Name ?? meta.Dataset;
        int? expectedClasses = request.Dataset is not null ? dataset!.Classes : null;
        int classes = meta.Classes ?? found?.Classes ?? expectedClasses
            ?? throw new InvalidDataException($"{checkpoint.Path} does not say how many classes it has: give the data set (--dataset).");
        if (expectedClasses is int want && classes != want)
            throw new InvalidDataException($"{checkpoint.Path} has {classes} output classes but --dataset {dataset!.Name} has {want}.");
        int levels = request.Levels ?? meta.Levels
            ?? throw new InvalidDataException($"{checkpoint.Path} does not record the QCFS level L ({CheckpointSummary.NameOf(checkpoint.Format)} files carry no metadata): give L explicitly (--L).");

        // Shape choices (stem, widths, classifier input) come from the tensors, so loading never guesses them.
        var options = new ModelOptions
        {
            Initialize = false,
            ImageNet = dataset?.Name == "ImageNet",
            InputChannels = dataset?.Channels,
        };
        var model = ModelZoo.Create(arch, classes, levels, ArchitectureInference.ShapeOptions(checkpoint.Tensors, arch, options));
        model.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path);
        DevicePlacement.Place(model, request.Device);
        model.Eval();
        var loaded = new ModelMetadata
        {
            Arch = arch, Classes = classes, Levels = levels, Dataset = datasetName,
            Mean = request.Normalization?.Mean ?? meta.Mean, Std = request.Normalization?.Std ?? meta.Std, Extra = meta.Extra,
        };
        return new LoadedModel(loaded, model, checkpoint.Path, request.Device);
    }

    /// <summary>Whether <paramref name="path"/> holds an imported graph (an .onnx file, or a checkpoint whose metadata records one).</summary>
    public static bool IsImportedGraph(string path, OnnxImportOptions? onnx = null)
    {
        var resolved = Checkpoints.ResolvePath(path);
        if (Checkpoints.DetectFormat(resolved) == CheckpointFormat.Onnx) return true;
        return Checkpoints.Load(resolved, onnx).Metadata.Extra.ContainsKey(GraphSpec.MetadataKey);
    }

    /// <summary>The L an imported graph's ReLUs become QCFS units with when no --L is given.</summary>
    public const int DefaultImportedLevels = 8;

    /// <summary>
    /// An imported graph: an .onnx file, or a checkpoint of one calibrated / fine-tuned by the engine (its metadata holds
    /// the graph). Input: the recorded normalisation, else [0, 1] pixels (an ONNX file carries no preprocessing).
    /// </summary>
    private static LoadedModel LoadGraph(ModelRequest request, Checkpoint checkpoint, string graph)
    {
        var meta = checkpoint.Metadata;
        if (request.Arch is not null)
            throw new ArgumentException($"{checkpoint.Path} holds an imported graph; --net_arch ({request.Arch}) does not apply to it.");
        var network = new GraphNetwork(GraphSpec.FromJson(graph, checkpoint.Path), checkpoint.Path);
        network.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path);
        var units = ModelZoo.QcfsUnits(network).Select(u => u.Unit).ToList();
        // L: the given one, else the graph's QCFS units' (recorded), else the default calibration will use.
        int levels = request.Levels ?? meta.Levels ?? units.FirstOrDefault()?.Levels ?? DefaultImportedLevels;
        foreach (var unit in units) unit.Levels = levels;

        DatasetInfo? dataset = request.Dataset is not null ? Datasets.Info(request.Dataset) : meta.Dataset is { } name ? TryInfo(name) : null;
        int classes = meta.Classes ?? throw new InvalidDataException($"{checkpoint.Path} does not record its class count.");
        if (request.Dataset is not null && dataset!.Classes != classes)
            throw new InvalidDataException($"{checkpoint.Path} has {classes} output classes but --dataset {dataset.Name} has {dataset.Classes}.");
        int channels = network.InputShape[0];
        if (dataset is not null && dataset.Channels != channels)
            throw new InvalidDataException($"{checkpoint.Path} takes {channels}-channel images but {dataset.Name} has {dataset.Channels} channel(s).");
        var normalization = request.Normalization ?? meta.Normalization ?? Normalization.None(channels);
        if (normalization.Channels != channels)
            throw new ArgumentException($"{checkpoint.Path} takes {channels}-channel images but the normalisation (--mean/--std) has {normalization.Channels} values.");
        DevicePlacement.Place(network, request.Device);
        network.Eval();
        var loaded = new ModelMetadata
        {
            Arch = GraphSpec.Arch, Classes = classes, Levels = levels, Dataset = dataset?.Name ?? meta.Dataset,
            Mean = normalization.Mean, Std = normalization.Std, Extra = meta.Extra,
        };
        return new LoadedModel(loaded, network, checkpoint.Path, request.Device) { Notes = checkpoint.Notes };
    }

    private static string CanonicalArch(string arch) =>
        ModelZoo.Canonical(arch) ?? throw new ArgumentException($"Unknown architecture '{arch}'. Valid names: {string.Join(", ", ModelZoo.Architectures)}.");

    private static DatasetInfo? TryInfo(string name)
    {
        try { return Datasets.Info(name); }
        catch (ArgumentException) { return null; }
    }
}
