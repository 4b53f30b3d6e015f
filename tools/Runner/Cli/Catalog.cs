using SpikeEngine.Data;
using SpikeEngine.Nn.Models;

namespace SpikeEngine.Runner.Cli;

/// <summary>--dataset and --net_arch values read through the engine's names, with the Runner's error wording.</summary>
public static class Catalog
{
    public static DatasetInfo Dataset(string name)
    {
        try { return Datasets.Info(name); }
        catch (ArgumentException)
        {
            throw new CliError($"Unknown --dataset '{name}'. Valid: {string.Join(", ", Datasets.Known.Select(d => d.Name))}.");
        }
    }

    public static string Architecture(string name) =>
        ModelZoo.Canonical(name) ?? throw new CliError($"Unknown --net_arch '{name}'. Valid: {string.Join(", ", ModelZoo.Architectures)}.");
}
