using SpikeEngine.Runner.Engine;

namespace SpikeEngine.Runner.Cli;

/// <summary>Finds data folders and checkpoint files from the options, with clear errors when they are missing.</summary>
public static class Locations
{
    public const string DefaultDataDir = "data";
    public const string DebianFashionMnist = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// The folder that directly holds the test files of <paramref name="dataset"/> (the torchvision and
    /// archive sub-folder layouts under --datadir are recognised too). With --download and nothing found,
    /// returns --datadir itself so the downloader can fill it.
    /// </summary>
    public static string FindData(DatasetKind dataset, string? dataDir, string? testDir, bool download)
    {
        if (dataset.Name == "ImageNet")
        {
            var folder = testDir ?? (dataDir is null ? null : Path.Combine(dataDir, "val"));
            if (folder is null)
                throw new CliError($"ImageNet needs --test_dir (a folder <val>/<class>/<image>) or --datadir holding val/. {dataset.HowToGet}");
            if (!Directory.Exists(folder) || !Directory.EnumerateDirectories(folder).Any())
                throw new CliError($"ImageNet data not found: {Path.GetFullPath(folder)} does not exist or has no class folders. {dataset.HowToGet}");
            return folder;
        }

        var roots = new List<string> { dataDir ?? DefaultDataDir };
        if (dataDir is null && dataset.Name == "FashionMNIST") roots.Add(DebianFashionMnist);
        var (subfolders, marker) = Layout(dataset.Name);
        var tried = new List<string>();
        foreach (var root in roots)
            foreach (var sub in subfolders)
            {
                var folder = sub.Length == 0 ? root : Path.Combine(root, sub);
                tried.Add(Path.GetFullPath(folder));
                if (marker.Any(m => File.Exists(Path.Combine(folder, m)))) return folder;
            }
        if (download) return roots[0];
        throw new CliError($"{dataset.Name} data not found (looked for {marker[0]} in {string.Join(", ", tried.Distinct())}). {dataset.HowToGet}");
    }

    /// <summary>Sub-folders to look in (relative to --datadir) and file names any one of which marks the test split.</summary>
    private static (string[] Subfolders, string[] Markers) Layout(string dataset) => dataset switch
    {
        "CIFAR10" => (["", "cifar-10-batches-bin", "cifar-10-batches-py"], ["test_batch.bin", "test_batch"]),
        "CIFAR100" => (["", "cifar-100-binary", "cifar-100-python"], ["test.bin", "test"]),
        "FashionMNIST" => (["", "FashionMNIST/raw", "fashion-mnist", "FashionMNIST"],
            ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]),
        "MNIST" => (["", "MNIST/raw", "mnist", "MNIST"], ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]),
        _ => throw new CliError($"No data layout known for {dataset}."),
    };

    /// <summary>
    /// Resolves --load_model_name: 'none' → null; an existing file; else NAME.pth / NAME.safetensors
    /// (the reference appends .pth), each also inside --savedir.
    /// </summary>
    public static string? FindCheckpoint(string name, string saveDir)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        var candidates = new List<string> { name, name + ".pth", name + ".safetensors" };
        if (!Path.IsPathRooted(name))
            candidates.AddRange(candidates.ToArray().Select(c => Path.Combine(saveDir, c)));
        foreach (var c in candidates)
            if (File.Exists(c)) return c;
        throw new CliError($"Checkpoint not found: tried {string.Join(", ", candidates.Distinct())}. " +
                           "Pass an existing .pth/.safetensors file or train one with the train command.");
    }

    /// <summary>Parses --plot_size WIDTHxHEIGHT.</summary>
    public static (int Width, int Height) PlotSize(string text)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], out var w) && int.TryParse(parts[1], out var h)
            && w is >= 100 and <= 10000 && h is >= 100 and <= 10000)
            return (w, h);
        throw new CliError($"--plot_size '{text}' is not WIDTHxHEIGHT with each between 100 and 10000 (e.g. 800x500).");
    }
}
