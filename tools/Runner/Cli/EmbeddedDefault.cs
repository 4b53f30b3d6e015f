using System.Text.Json.Nodes;
using Spectre.Console;
using SpikeEngine.IO;
using SpikeEngine.Runner.Output;
using SpikeEngine.Snn;
using SpikeEngine.Workflows;

namespace SpikeEngine.Runner.Cli;

/// <summary>
/// The bare `dotnet run --project tools/Runner`: the bundled Fashion-MNIST QCFS model and test set,
/// ANN accuracy, plain conversion and COS (ρ = 4) at T = 1, 2, 4, 8, latency per step, and a reading.
/// </summary>
public static class EmbeddedDefault
{
    public const string ModelFile = "fashionmnist-cnn-L4.safetensors";
    public const string DataFolder = "fashion-mnist";
    public const int SimLen = 8;
    public const int Presim = 4;
    public const int Batch = 100;
    /// <summary>Test images used unless --limit says otherwise (keeps the run well under two minutes on 2 cores).</summary>
    public const int DefaultImages = 10000;

    /// <summary>The bundled assets folder: beside the built program, else tools/Runner/assets above the working directory.</summary>
    public static string AssetsFolder()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "assets");
        if (File.Exists(Path.Combine(beside, ModelFile))) return beside;
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tools", "Runner", "assets");
            if (File.Exists(Path.Combine(candidate, ModelFile))) return candidate;
        }
        return beside;
    }

    public static int Run(Session s)
    {
        s.Validate();
        var assets = AssetsFolder();
        var modelPath = Path.Combine(assets, ModelFile);
        var dataFolder = Path.Combine(assets, DataFolder);
        if (!File.Exists(modelPath))
            throw new CliError($"The bundled model {modelPath} is missing: rebuild the Runner, or recreate it with the train command in tools/Runner/README.md.");
        if (!File.Exists(Path.Combine(dataFolder, "t10k-images-idx3-ubyte.gz")))
            throw new CliError($"The bundled Fashion-MNIST test set is missing from {dataFolder}: rebuild the Runner or restore tools/Runner/assets/fashion-mnist.");

        var device = s.UseDevice();
        var model = ModelLoader.Load(new ModelRequest(modelPath) { Arch = "cnn", Levels = 4, Dataset = "FashionMNIST", Device = device });
        int limit = s.Parse.GetValue(s.Options.Limit) ?? DefaultImages;
        var plainSettings = new SimulationSettings(SimLen);
        var cosSettings = new SimulationSettings(SimLen, Presim);
        // Warm-up on a few images so that JIT compilation does not count as latency of the first run.
        var warmup = DataSplits.Open(new DataRequest("FashionMNIST") { Folder = dataFolder, Limit = Math.Min(limit, 10) });
        Evaluations.Snn(model, warmup, [new SimulationSettings(2), new SimulationSettings(2, Presim)], 10, cancel: s.Cancel);
        var data = DataSplits.Open(new DataRequest("FashionMNIST") { Folder = dataFolder, Limit = limit });

        s.WriteLine($"SpikeEngine: QCFS {model.Arch} (L = {model.Levels}, {model.Parameters:N0} parameters) trained on Fashion-MNIST, " +
                    $"bundled test set ({data.Count} images), {device}");
        var evaluation = Evaluations.Snn(model, data, [plainSettings, cosSettings], Batch, cancel: s.Cancel);
        double ann = evaluation.AnnAccuracy;
        var (plain, cos) = (evaluation.Runs[0], evaluation.Runs[1]);

        int[] steps = [1, 2, 4, 8];
        var table = new Table().AddColumn("");
        foreach (var t in steps) table.AddColumn(new TableColumn($"T = {t}").RightAligned());
        table.AddRow(new[] { "ANN" }.Concat(steps.Select(_ => Commands.Percent(ann))).ToArray());
        table.AddRow(new[] { "plain conversion" }.Concat(steps.Select(t => Commands.Percent(plain.At(t)))).ToArray());
        table.AddRow(new[] { $"COS (ρ = {Presim})" }.Concat(steps.Select(t => Commands.Percent(cos.At(t)))).ToArray());
        s.Console.Write(table);

        s.WriteLine($"Latency per time step (batch {Batch}): plain {plain.LatencyPerStepMs:F2} ms, COS {cos.LatencyPerStepMs:F2} ms " +
                    $"(COS includes its ρ = {Presim} pre-simulation steps); {cos.ImagesPerSecond:F0} images/s with COS at T = {SimLen}");
        s.WriteLine(Reading(ann, plain.AccuracyPerStep, cos.AccuracyPerStep));

        string? plotPath = s.Parse.GetValue(s.Options.Plot);
        if (plotPath is not null)
        {
            var (w, h) = AccuracyPlot.ParseSize(s.Get(s.Options.PlotSize));
            AccuracyPlot.Write(plotPath, w, h, "QCFS CNN (L = 4) on Fashion-MNIST", ann, plain.AccuracyPerStep, cos.AccuracyPerStep, Presim);
            s.WriteLine($"plot written to {plotPath}");
        }
        // The default's own summary: the COS run's fields with the plain run's accuracy and latency beside them.
        var cosJson = ResultJson.ToObject(cos);
        var plainJson = ResultJson.ToObject(plain);
        Commands.WriteJson(s, new JsonObject
        {
            ["command"] = "default", ["dataset"] = "FashionMNIST", ["net_arch"] = model.Arch, ["L"] = model.Levels,
            ["samples"] = evaluation.Samples, ["ann_accuracy"] = ResultJson.Round(ann), ["presim_len"] = Presim, ["sim_len"] = SimLen,
            ["accuracy_per_step"] = cosJson["accuracy_per_step"]!.DeepClone(),
            ["plain_accuracy_per_step"] = plainJson["accuracy_per_step"]!.DeepClone(),
            ["seconds"] = cosJson["seconds"]!.DeepClone(), ["images_per_second"] = cosJson["images_per_second"]!.DeepClone(),
            ["latency_per_step_ms"] = cosJson["latency_per_step_ms"]!.DeepClone(),
            ["plain_latency_per_step_ms"] = plainJson["latency_per_step_ms"]!.DeepClone(),
            ["device"] = device.ToString(),
        });
        return 0;
    }

    /// <summary>A one-line reading of the table: where COS beats plain conversion and how close it gets to the ANN.</summary>
    public static string Reading(double ann, double[] plain, double[] cos)
    {
        int[] steps = [1, 2, 4, 8];
        var better = steps.Where(t => t <= cos.Length && cos[t - 1] > plain[t - 1]).ToArray();
        string comparison = better.Length == steps.Length
            ? "COS beats plain conversion at every T"
            : better.Length == 0 ? "COS does not beat plain conversion at any T here"
            : $"COS beats plain conversion at T = {string.Join(", ", better)}";
        int reach = Array.FindIndex(cos, a => a >= ann - 0.01) + 1;
        string gap = reach > 0
            ? $"it comes within 1 point of the ANN from T = {reach}"
            : $"it stays {(ann - cos.Max()) * 100:F1} points below the ANN up to T = {cos.Length}";
        double gain = steps.Select(t => cos[t - 1] - plain[t - 1]).Max() * 100;
        string gainText = better.Length > 0 ? $" (largest gain {gain:F1} points)" : "";
        return $"Reading: {comparison}{gainText}; {gap}.";
    }
}
