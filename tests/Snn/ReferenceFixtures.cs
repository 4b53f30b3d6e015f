using System.Diagnostics;
using SpikeEngine.IO;

namespace SpikeEngine.Tests.Snn;

/// <summary>
/// Fixtures written by tools/reference/cos_reference.py (the from-the-spec PyTorch implementation).
/// Committed copies live in tests/fixtures/snn; when /usr/bin/python3 with torch is present (CI installs
/// it) the tests regenerate them into a temporary folder first, so the comparison runs against a fresh
/// reference.
/// </summary>
internal static class ReferenceFixtures
{
    public static string Committed(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "snn", file);

    public static string? RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SpikeEngine.sln"))) return d.FullName;
        return null;
    }

    public static bool PythonWithTorch()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) return false;
        var (code, _) = RunProcess(python, ["-c", "import torch"]);
        return code == 0;
    }

    /// <summary>Runs the reference script with the given arguments (plus --out) and loads what it wrote.</summary>
    public static SafeTensors.Contents Regenerate(string folder, string name, params string[] args)
    {
        var root = RepositoryRoot() ?? throw new InvalidOperationException("Cannot find the repository root (SpikeEngine.sln) above " + AppContext.BaseDirectory);
        var script = Path.Combine(root, "tools", "reference", "cos_reference.py");
        var outPath = Path.Combine(folder, name);
        var (code, output) = RunProcess("/usr/bin/python3", [script, .. args, "--out", outPath]);
        if (code != 0) throw new InvalidOperationException($"cos_reference.py failed ({code}):\n{output}");
        return SafeTensors.Load(outPath);
    }

    private static (int Code, string Output) RunProcess(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
