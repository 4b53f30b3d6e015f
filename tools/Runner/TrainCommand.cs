using System.Globalization;
using SpikeEngine.Data;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Runner;

/// <summary>
/// A first `train` command (the full CLI replaces it):
/// train --dataset FashionMNIST --net_arch cnn --L 4 --trainann_epochs 2 --savedir runs/x
/// [--lr 0.05] [--momentum 0.9] [--wd 5e-4] [--batch_size 64] [--seed 0] [--dropout 0] [--datadir DIR] [--resume].
/// </summary>
public static class TrainCommand
{
    private static readonly string[] Flags = ["resume"];
    private static readonly string[] Valued = ["dataset", "net_arch", "L", "trainann_epochs", "savedir", "lr", "momentum", "wd", "batch_size", "seed", "dropout", "datadir"];

    public static int Run(string[] args, TextWriter output, CancellationToken cancel)
    {
        var o = Parse(args);
        string dataset = Get(o, "dataset", "FashionMNIST");
        string arch = Get(o, "net_arch", "cnn");
        int levels = Int(o, "L", 4);
        int epochs = Int(o, "trainann_epochs", 2);
        string saveDir = Get(o, "savedir", Path.Combine("runs", $"{arch}-{dataset}-L{levels}"));
        int batch = Int(o, "batch_size", 64);
        int seed = Int(o, "seed", 0);
        float lr = Float(o, "lr", 0.05f);

        if (!dataset.Equals("FashionMNIST", StringComparison.OrdinalIgnoreCase) && !dataset.Equals("MNIST", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--dataset {dataset}: this first train command supports FashionMNIST and MNIST (CIFAR/ImageNet come with the data loaders).");
        string folder = Get(o, "datadir", FashionMnist.DebianFolder);
        bool digits = dataset.Equals("MNIST", StringComparison.OrdinalIgnoreCase);
        var names = digits ? FashionMnist.DigitNames : FashionMnist.ClassNames;
        var trainSet = FashionMnist.Load(folder, train: true, digits ? "MNIST" : "FashionMNIST", names);
        var testSet = FashionMnist.Load(folder, train: false, digits ? "MNIST" : "FashionMNIST", names);
        var norm = Normalization.FashionMnist;
        var model = Models.Create(arch, names.Length, levels, new ModelOptions { Seed = seed, Dropout = Float(o, "dropout", 0f), InputChannels = 1 });
        var info = new ModelInfo(arch, names.Length, levels, digits ? "MNIST" : "FashionMNIST", norm);
        var options = new TrainerOptions
        {
            Epochs = epochs,
            LearningRate = lr,
            Momentum = Float(o, "momentum", 0.9f),
            WeightDecay = Float(o, "wd", 5e-4f),
            SaveDir = saveDir,
            Resume = o.ContainsKey("resume"),
            Seed = seed,
            Device = Device.Cpu,
        };
        output.WriteLine($"train {arch} (L={levels}, {model.ParameterCount:N0} parameters) on {trainSet.Name} ({trainSet.Count} images), {epochs} epochs, batch {batch}, lr {lr}; saving to {saveDir}");
        var trainer = new Trainer(options, info);
        var result = trainer.Fit(model,
            new DataLoader(trainSet, batch, norm, shuffle: true, seed: seed),
            new DataLoader(testSet, 500, norm),
            new ConsoleProgress(output), cancel);
        output.WriteLine($"best test top-1 {result.BestAccuracy:P2} at epoch {result.BestEpoch}; model: {trainer.BestPath}");
        return 0;
    }

    private sealed class ConsoleProgress(TextWriter output) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Completed is { } e)
                output.WriteLine($"epoch {e.Epoch}/{p.Epochs}  lr {e.LearningRate:G4}  train loss {e.TrainLoss:F4} acc {e.TrainAccuracy:P2}  test top-1 {e.Test.Top1:P2} top-5 {e.Test.Top5:P2}{(e.IsBest ? "  (best, saved)" : "")}  {e.Duration.TotalSeconds:F0} s");
            else
                output.WriteLine($"epoch {p.Epoch}/{p.Epochs}  batch {p.Batch}/{p.Batches}  loss {p.Loss:F4}  {p.ImagesPerSecond:F0} img/s  ETA {p.Remaining:hh\\:mm\\:ss}");
        }
    }

    private static Dictionary<string, string> Parse(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--")) throw new ArgumentException($"train: unexpected argument '{a}'.");
            var key = a[2..];
            string? inline = null;
            int eq = key.IndexOf('=');
            if (eq >= 0) (key, inline) = (key[..eq], key[(eq + 1)..]);
            if (Flags.Contains(key)) { d[key] = "true"; continue; }
            if (!Valued.Contains(key)) throw new ArgumentException($"train: unknown option --{key}. Options: {string.Join(", ", Valued.Concat(Flags).Select(k => "--" + k))}.");
            if (inline is null && i + 1 >= args.Length) throw new ArgumentException($"train: --{key} needs a value.");
            d[key] = inline ?? args[++i];
        }
        return d;
    }

    private static string Get(Dictionary<string, string> o, string key, string fallback) => o.TryGetValue(key, out var v) ? v : fallback;

    private static int Int(Dictionary<string, string> o, string key, int fallback) =>
        !o.TryGetValue(key, out var v) ? fallback
        : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r
        : throw new ArgumentException($"train: --{key} expects an integer, got '{v}'.");

    private static float Float(Dictionary<string, string> o, string key, float fallback) =>
        !o.TryGetValue(key, out var v) ? fallback
        : float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r
        : throw new ArgumentException($"train: --{key} expects a number, got '{v}'.");
}
