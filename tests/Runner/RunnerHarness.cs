using NUnit.Framework;
using SpikeEngine.Runner.Cli;
using SpikeEngine.Runner.Engine;

namespace SpikeEngine.Tests.Runner;

/// <summary>Runs the CLI in-process and captures its exit code, stdout and stderr.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Err)
{
    public static CliRun Of(IRunnerEngine? engine, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = engine is null ? RunnerCli.Run(args, o, e) : RunnerCli.Run(args, o, e, engine);
        return new CliRun(code, o.ToString(), e.ToString());
    }

    /// <summary>A failure as the brief wants it: non-zero, one line on stderr, no stack trace.</summary>
    public void AssertOneLineFailure(params string[] mustContain)
    {
        Assert.That(ExitCode, Is.Not.EqualTo(0), $"expected failure; stdout: {Out}");
        var lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"stderr must be one line, was:\n{Err}");
        Assert.That(Err, Does.Not.Contain("   at "));
        foreach (var m in mustContain) Assert.That(Err, Does.Contain(m));
    }

    public void AssertSuccess() => Assert.That(ExitCode, Is.EqualTo(0), $"stderr: {Err}\nstdout: {Out}");
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("runner-test-").FullName;
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }

    /// <summary>Creates an (empty) file, with folders, so a locator finds it.</summary>
    public string Touch(string relative, string content = "x")
    {
        var p = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
        return p;
    }
}
