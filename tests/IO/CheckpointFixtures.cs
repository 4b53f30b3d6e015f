using System.Diagnostics;
using System.Text.Json;
using NUnit.Framework;

namespace SpikeEngine.Tests.IO;

/// <summary>Paths of the PyTorch-made fixtures (tools/fixtures/make_checkpoints.py) and a way to run that script.</summary>
internal static class CheckpointFixtures
{
    public static string Folder => Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "checkpoints");

    public static string File(string name) => Path.Combine(Folder, name);

    public static JsonElement Index => JsonDocument.Parse(System.IO.File.ReadAllText(File("index.json"))).RootElement;

    /// <summary>tools/fixtures/make_checkpoints.py in the source tree (found by walking up from the test binary).</summary>
    public static string? Script => Tool("make_checkpoints.py");

    /// <summary>tools/fixtures/<paramref name="name"/> in the source tree (found by walking up from the test binary).</summary>
    public static string? Tool(string name)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tools", "fixtures", name);
            if (System.IO.File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public const string Python = "/usr/bin/python3";

    /// <summary>Runs the fixture script with Debian's PyTorch; marks the test ignored (with the reason) when it is not installed.</summary>
    public static (int ExitCode, string Output) RunScript(params string[] args) => RunTool("make_checkpoints.py", 120, args);

    /// <summary>Runs tools/fixtures/<paramref name="script"/> with Debian's PyTorch (ignored when it is not installed), failing after <paramref name="timeoutSeconds"/>.</summary>
    public static (int ExitCode, string Output) RunTool(string script, int timeoutSeconds, params string[] args)
    {
        var path = Tool(script);
        if (path is null) Assert.Ignore($"tools/fixtures/{script} not found above the test folder.");
        if (!System.IO.File.Exists(Python)) Assert.Ignore($"{Python} not found (install python3-torch to run the PyTorch cross-check).");
        var probe = TorchProbe.Value;
        if (probe.ExitCode != 0) Assert.Ignore($"{Python} has no torch/numpy (apt-get install python3-torch): {probe.Output.Trim()}");
        return Run(Python, timeoutSeconds, [path!, .. args]);
    }

    private static readonly Lazy<(int ExitCode, string Output)> TorchProbe = new(() => Run(Python, 120, "-c", "import torch, numpy"));

    private static (int ExitCode, string Output) Run(string exe, int timeoutSeconds, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{exe} {string.Join(" ", args)} did not finish in {timeoutSeconds} s.");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
