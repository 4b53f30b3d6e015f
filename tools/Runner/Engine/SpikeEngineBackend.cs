using System.Globalization;
using SpikeEngine.Backend;
using SpikeEngine.Data;
using SpikeEngine.IO;
using SpikeEngine.Runner.Cli;
using SpikeEngine.Tensors;

namespace SpikeEngine.Runner.Engine;

/// <summary>The Runner's seam implemented by the SpikeEngine library.</summary>
public sealed partial class SpikeEngineBackend : IRunnerEngine
{
    public void UseDevice(Device device, int? threads)
    {
        if (threads is int n) Backends.Cpu.Threads = n;
        if (device.Kind == DeviceKind.Cpu) return;
        try
        {
            Backends.For(device);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CliError($"--device {device} is not available: {e.Message} Use --device cpu.");
        }
    }

    public IDataSplit OpenTest(DataRequest request)
    {
        InMemoryImageDataset set = request.Dataset.Name switch
        {
            "FashionMNIST" => FashionMnist.Load(request.Folder, train: false, "FashionMNIST", FashionMnist.ClassNames),
            "MNIST" => FashionMnist.Load(request.Folder, train: false, "MNIST", FashionMnist.DigitNames),
            _ => throw new CliError($"{request.Dataset.Name} loading is not in this build yet (engine/Data)."),
        };
        if (request.Limit is int limit && limit < set.Count) set = set.Take(limit);
        return new DataSplit(set, $"{request.Dataset.Name} test");
    }

    public IModel Load(string checkpointPath, ModelSpec expected, bool archGiven, Device device) =>
        throw new CliError("Loading models is not in this build yet (engine/Nn models and engine/IO checkpoints).");

    public TrainOutcome Train(TrainRequest request, Action<TrainProgress> progress, CancellationToken cancel) =>
        throw new CliError("Training is not in this build yet (engine/Training).");

    public double EvaluateAnn(IModel model, IDataSplit data, int batchSize, CancellationToken cancel) =>
        throw new CliError("ANN evaluation is not in this build yet (engine/Nn).");

    public SnnEvaluationOutcome EvaluateSnn(IModel model, IDataSplit data, IReadOnlyList<SnnRequest> runs, CancellationToken cancel) =>
        throw new CliError("SNN evaluation is not in this build yet (engine/Snn).");

    public DiagnosticsOutcome Diagnose(IModel model, IDataSplit data, SnnRequest request, CancellationToken cancel) =>
        throw new CliError("SNN diagnostics are not in this build yet (engine/Snn).");

    public CheckpointInfo Summarize(string checkpointPath)
    {
        if (!checkpointPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new CliError($"{checkpointPath}: only .safetensors summaries are in this build yet (.pth import is engine/IO's).");
        var contents = SafeTensors.Load(checkpointPath);
        return Summary(checkpointPath, "safetensors", contents.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.Numel), contents.Metadata,
            contents.Tensors.Where(kv => kv.Key.EndsWith(".up", StringComparison.Ordinal) && kv.Value.Shape.Numel == 1)
                .Select(kv => new LambdaEntry(kv.Key[..^3], kv.Value.ToArray()[0])).ToList());
    }

    /// <summary>
    /// A summary from a name → element-count map: parameters are every entry except BatchNorm's running
    /// statistics and counters (as PyTorch counts them).
    /// </summary>
    internal static CheckpointInfo Summary(string path, string format, IReadOnlyDictionary<string, int> numel,
        IReadOnlyDictionary<string, string> metadata, IReadOnlyList<LambdaEntry> lambdas)
    {
        long parameters = numel.Where(kv => !IsBuffer(kv.Key)).Sum(kv => (long)kv.Value);
        return new CheckpointInfo(path, format, Meta(metadata, "arch", "architecture", "net_arch"),
            MetaInt(metadata, "classes", "num_classes"), MetaInt(metadata, "L", "levels", "l"), Meta(metadata, "dataset"),
            parameters, numel.Count, lambdas, metadata);
    }

    private static bool IsBuffer(string key) =>
        key.EndsWith("running_mean", StringComparison.Ordinal) || key.EndsWith("running_var", StringComparison.Ordinal)
        || key.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    private static string? Meta(IReadOnlyDictionary<string, string> m, params string[] keys) =>
        keys.Select(k => m.TryGetValue(k, out var v) ? v : null).FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static int? MetaInt(IReadOnlyDictionary<string, string> m, params string[] keys) =>
        int.TryParse(Meta(m, keys), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    private sealed class DataSplit(InMemoryImageDataset set, string description) : IDataSplit
    {
        public InMemoryImageDataset Set { get; } = set;
        public string Description { get; } = description;
        public int Count => Set.Count;
    }
}
