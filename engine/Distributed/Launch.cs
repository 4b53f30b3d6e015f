using System.Globalization;

namespace SpikeEngine.Distributed;

/// <summary>Where this process sits in a job started by a launcher: <see cref="Size"/> ranks, this one <see cref="Rank"/>, <see cref="LocalRank"/> on its node.</summary>
public sealed record LaunchInfo(int Size, int Rank, int LocalRank, string Launcher);

/// <summary>
/// Recognises the launchers users start jobs with, from the variables they set in every process:
/// Open MPI's mpirun (OMPI_COMM_WORLD_SIZE, _RANK, _LOCAL_RANK) and PMI launchers such as Slurm's srun
/// (PMI_SIZE, PMI_RANK; the local rank from MPI_LOCALRANKID or SLURM_LOCALID).
/// </summary>
public static class Launch
{
    /// <summary>Whether mpirun or a PMI launcher started this process (its variables are set), whatever their values.</summary>
    public static bool Launched(Func<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariable;
        return env("OMPI_COMM_WORLD_SIZE") is not null || env("PMI_SIZE") is not null;
    }

    /// <summary>The job this process belongs to, or null when no launcher started it (or it started one process only).</summary>
    public static LaunchInfo? Detect(Func<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariable;
        LaunchInfo? found = null;
        if (env("OMPI_COMM_WORLD_SIZE") is { } ompiSize)
        {
            int size = Number(env, "OMPI_COMM_WORLD_SIZE", ompiSize), rank = Number(env, "OMPI_COMM_WORLD_RANK");
            found = new LaunchInfo(size, rank, Optional(env, "OMPI_COMM_WORLD_LOCAL_RANK") ?? rank, "mpirun");
        }
        else if (env("PMI_SIZE") is { } pmiSize)
        {
            int size = Number(env, "PMI_SIZE", pmiSize), rank = Number(env, "PMI_RANK");
            found = new LaunchInfo(size, rank, Optional(env, "MPI_LOCALRANKID") ?? Optional(env, "SLURM_LOCALID") ?? rank, "PMI (srun)");
        }
        if (found is null) return null;
        if (found.Size < 1 || found.Rank < 0 || found.Rank >= found.Size || found.LocalRank < 0)
            throw new DistributedException($"The launcher's variables make no sense: {found.Size} ranks, this one rank {found.Rank}, local rank {found.LocalRank}.");
        return found.Size == 1 ? null : found;
    }

    private static int Number(Func<string, string?> env, string name, string? value = null)
    {
        value ??= env(name) ?? throw new DistributedException($"{name} is not set although the launcher set the job size; cannot tell this process's rank.");
        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n
            : throw new DistributedException($"{name} = '{value}' is not a number.");
    }

    private static int? Optional(Func<string, string?> env, string name) => env(name) is { } v ? Number(env, name, v) : null;
}
