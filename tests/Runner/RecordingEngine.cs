using SpikeEngine.Runner.Cli;
using SpikeEngine.Runner.Engine;
using SpikeEngine.Tensors;

namespace SpikeEngine.Tests.Runner;

/// <summary>
/// A stand-in for the engine, used only to test the CLI layer (parsing, validation, what reaches the
/// engine, output files). It records every request and answers with values derived from them, so a
/// test can check that options were passed through and results were reported.
/// </summary>
internal sealed class RecordingEngine : IRunnerEngine
{
    public Device? DeviceUsed;
    public int? ThreadsUsed;
    public readonly List<DataRequest> DataRequests = [];
    public readonly List<(string Path, ModelSpec Expected, bool ArchGiven)> Loads = [];
    public readonly List<SnnRequest> SnnRequests = [];
    public TrainRequest? TrainRequest;
    public int SamplesInData = 250;
    public bool CancelTraining;
    public string CheckpointArch = "resnet20";

    public void UseDevice(Device device, int? threads) { DeviceUsed = device; ThreadsUsed = threads; }

    public IDataSplit OpenTest(DataRequest request)
    {
        DataRequests.Add(request);
        return new Split(request.Limit is int l ? Math.Min(l, SamplesInData) : SamplesInData, $"{request.Dataset.Name} test");
    }

    public IModel Load(string checkpointPath, ModelSpec expected, bool archGiven, Device device)
    {
        Loads.Add((checkpointPath, expected, archGiven));
        if (archGiven && expected.Arch != CheckpointArch)
            throw new CliError($"{checkpointPath} holds a {CheckpointArch} model, not {expected.Arch} (--net_arch).");
        return new Model(new ModelSpec(CheckpointArch, 10, expected.L == 0 ? 4 : expected.L, expected.Dataset.Length == 0 ? "CIFAR10" : expected.Dataset), checkpointPath);
    }

    public TrainOutcome Train(TrainRequest request, Action<TrainProgress> progress, CancellationToken cancel)
    {
        TrainRequest = request;
        Directory.CreateDirectory(request.SaveDir);
        var best = Path.Combine(request.SaveDir, "best.safetensors");
        var last = Path.Combine(request.SaveDir, "last.safetensors");
        int done = 0;
        for (int e = 1; e <= request.Epochs; e++)
        {
            progress(new TrainProgress(e, request.Epochs, 1, 2, 1.0 / e, 1000, TimeSpan.FromSeconds(request.Epochs - e), null));
            if (CancelTraining && e == 2) return new TrainOutcome(best, last, 0.5, done, Cancelled: true);
            File.WriteAllText(last, $"epoch {e}");
            File.WriteAllText(best, $"epoch {e}");
            done = e;
            progress(new TrainProgress(e, request.Epochs, 2, 2, 1.0 / e, 1000, TimeSpan.FromSeconds(request.Epochs - e), 0.5 + 0.01 * e));
        }
        return new TrainOutcome(best, last, 0.5 + 0.01 * done, done, Cancelled: false);
    }

    public double EvaluateAnn(IModel model, IDataSplit data, int batchSize, CancellationToken cancel) => 0.9;

    /// <summary>Accuracy rising with t toward 0.9 − 0.1/(ρ+1): COS (ρ &gt; 0) ends higher than plain.</summary>
    public SnnEvaluationOutcome EvaluateSnn(IModel model, IDataSplit data, IReadOnlyList<SnnRequest> runs, CancellationToken cancel)
    {
        SnnRequests.AddRange(runs);
        return new SnnEvaluationOutcome(0.9, runs.Select(request =>
        {
            var acc = Enumerable.Range(1, request.SimLen).Select(t => (0.9 - 0.1 / (request.PresimLen + 1)) * t / (t + 1.0)).ToArray();
            return new SnnOutcome(request, acc, data.Count, 2.0);
        }).ToList());
    }

    public DiagnosticsOutcome Diagnose(IModel model, IDataSplit data, SnnRequest request, CancellationToken cancel)
    {
        SnnRequests.Add(request);
        var layers = new[]
        {
            new LayerDiagnostics("conv1.2", 16384, 0.12, 0.11, [1, 10, 100, 12, 2], [0, 2, 120, 3, 0], 0.05, 0.07, 1.5e6),
            new LayerDiagnostics("fc", 10, 0.2, 0.2, [0, 0, 10, 0, 0], [0, 0, 10, 0, 0], 0, 0, 0),
        };
        return new DiagnosticsOutcome(layers, 4.1e7, 3.0e6, 4.4e5, 1.9e-4, 3.1e-6, "0.9 pJ/AC, 4.6 pJ/MAC (45 nm)", data.Count);
    }

    public CheckpointInfo Summarize(string checkpointPath) =>
        new(checkpointPath, "test", CheckpointArch, 10, 4, "CIFAR10", 272493, 147, [new LambdaEntry("conv1.2", 3.5f)], new Dictionary<string, string>(), []);

    private sealed record Split(int Count, string Description) : IDataSplit;
    private sealed record Model(ModelSpec Spec, string Source) : IModel { public long Parameters => 272493; }
}
