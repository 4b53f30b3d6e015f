using System.Text.Json.Nodes;
using Spectre.Console;
using SpikeEngine.Runner.Engine;
using SpikeEngine.Runner.Output;

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
        var model = s.Engine.Load(modelPath, new ModelSpec("cnn", 10, 4, "FashionMNIST"), archGiven: true, device);
        var data = s.Engine.OpenTest(new DataRequest(Catalog.Dataset("FashionMNIST"), dataFolder, false, s.Parse.GetValue(s.Options.Limit), 0));

        s.WriteLine($"SpikeEngine: QCFS {model.Spec.Arch} (L = {model.Spec.L}, {model.Parameters:N0} parameters) trained on Fashion-MNIST, " +
                    $"bundled test set ({data.Count} images), {device}");
        var evaluation = s.Engine.EvaluateSnn(model, data, [new SnnRequest(0, SimLen, 1, Batch), new SnnRequest(Presim, SimLen, 1, Batch)], s.Cancel);
        double ann = evaluation.AnnAccuracy;
        var (plain, cos) = (evaluation.Runs[0], evaluation.Runs[1]);

        int[] steps = [1, 2, 4, 8];
        var table = new Table().AddColumn("");
        foreach (var t in steps) table.AddColumn(new TableColumn($"T = {t}").RightAligned());
        table.AddRow(new[] { "ANN" }.Concat(steps.Select(_ => Commands.Percent(ann))).ToArray());
        table.AddRow(new[] { "plain conversion" }.Concat(steps.Select(t => Commands.Percent(plain.AccuracyPerStep[t - 1]))).ToArray());
        table.AddRow(new[] { $"COS (ρ = {Presim})" }.Concat(steps.Select(t => Commands.Percent(cos.AccuracyPerStep[t - 1]))).ToArray());
        s.Console.Write(table);

        double plainLatency = Commands.LatencyPerStepMs(plain);
        double cosLatency = Commands.LatencyPerStepMs(cos);
        s.WriteLine($"Latency per time step (batch {Batch}): plain {plainLatency:F2} ms, COS {cosLatency:F2} ms " +
                    $"(COS runs ρ + T = {Presim + SimLen} steps per layer); {cos.Samples / Math.Max(cos.Seconds, 1e-9):F0} images/s with COS at T = {SimLen}");
        s.WriteLine(Reading(ann, plain.AccuracyPerStep, cos.AccuracyPerStep));

        string? plotPath = s.Parse.GetValue(s.Options.Plot);
        if (plotPath is not null)
        {
            var (w, h) = Locations.PlotSize(s.Get(s.Options.PlotSize));
            AccuracyPlot.Write(plotPath, w, h, "QCFS CNN (L = 4) on Fashion-MNIST", ann, plain.AccuracyPerStep, cos.AccuracyPerStep, Presim);
            s.WriteLine($"plot written to {plotPath}");
        }
        Commands.WriteJson(s, new JsonObject
        {
            ["command"] = "default", ["dataset"] = "FashionMNIST", ["net_arch"] = model.Spec.Arch, ["L"] = model.Spec.L,
            ["samples"] = cos.Samples, ["ann_accuracy"] = JsonReport.Round(ann), ["presim_len"] = Presim, ["sim_len"] = SimLen,
            ["accuracy_per_step"] = JsonReport.Array(cos.AccuracyPerStep),
            ["plain_accuracy_per_step"] = JsonReport.Array(plain.AccuracyPerStep),
            ["seconds"] = JsonReport.Round(cos.Seconds), ["images_per_second"] = JsonReport.Round(cos.Samples / Math.Max(cos.Seconds, 1e-9)),
            ["latency_per_step_ms"] = JsonReport.Round(cosLatency), ["plain_latency_per_step_ms"] = JsonReport.Round(plainLatency),
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
