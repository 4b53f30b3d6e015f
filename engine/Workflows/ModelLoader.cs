using SpikeEngine.Data;
using SpikeEngine.Distributed;
using SpikeEngine.IO;
using SpikeEngine.Nn;
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
        var checkpoint = Checkpoints.Load(request.Checkpoint);
        var meta = checkpoint.Metadata;
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
            Mean = meta.Mean, Std = meta.Std, Extra = meta.Extra,
        };
        return new LoadedModel(loaded, model, checkpoint.Path, request.Device);
    }

    private static string CanonicalArch(string arch) =>
        ModelZoo.Canonical(arch) ?? throw new ArgumentException($"Unknown architecture '{arch}'. Valid names: {string.Join(", ", ModelZoo.Architectures)}.");

    private static DatasetInfo? TryInfo(string name)
    {
        try { return Datasets.Info(name); }
        catch (ArgumentException) { return null; }
    }
}
