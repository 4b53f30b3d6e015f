namespace SpikeEngine.Runner.Cli;

/// <summary>A user-facing failure: the Runner prints its message as one line on stderr and exits non-zero.</summary>
public sealed class CliError(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
