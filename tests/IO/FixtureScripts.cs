using System.Diagnostics;
using NUnit.Framework;

namespace SpikeEngine.Tests.IO;

/// <summary>
/// Runs the fixture scripts that write large files at test time (tools/fixtures/imagenet_*.py) with Debian's
/// PyTorch; the test is ignored, with the reason, when the script or torch is missing.
/// </summary>
internal static class FixtureScripts
{
    public static (int ExitCode, string Output) RunTool(string script, int timeoutSeconds, params string[] args)
    {
        var path = Find(script);
        if (path is null) Assert.Ignore($"tools/fixtures/{script} not found above the test folder.");
        if (!File.Exists(CheckpointFixtures.Python)) Assert.Ignore($"{CheckpointFixtures.Python} not found (install python3-torch python3-torchvision).");
        var probe = Probe.Value;
        if (probe.ExitCode != 0) Assert.Ignore($"{CheckpointFixtures.Python} has no torch/torchvision/numpy (apt-get install python3-torch python3-torchvision): {probe.Output.Trim()}");
        return Run(timeoutSeconds, [path!, .. args]);
    }

    private static readonly Lazy<(int ExitCode, string Output)> Probe = new(() => Run(120, "-c", "import torch, torchvision, numpy, PIL"));

    private static string? Find(string name)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tools", "fixtures", name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static (int ExitCode, string Output) Run(int timeoutSeconds, params string[] args)
    {
        var psi = new ProcessStartInfo(CheckpointFixtures.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{CheckpointFixtures.Python} {string.Join(" ", args)} did not finish in {timeoutSeconds} s.");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
