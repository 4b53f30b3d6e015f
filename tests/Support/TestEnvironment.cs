using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace SpikeEngine.Tests.Support;

/// <summary>
/// What the tests need from outside the test binary (the checkout, the shared data, Debian's PyTorch and
/// Fashion-MNIST) and the one rule for when it is missing: the test is skipped with the reason on a
/// developer's machine, and fails inside CI (environment variable CI=true), where .ci/run installs
/// everything and a skip would silently drop a cross-check.
/// </summary>
internal static class TestEnvironment
{
    /// <summary>The environment variable that points at a copy of the shared data (folders such as cifar-10-batches-bin).</summary>
    public const string DataVariable = "SPIKEENGINE_DATA";

    /// <summary>Debian's interpreter, the one with python3-torch (the python3 first on PATH may lack it).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Where Debian's dataset-fashion-mnist package puts the four IDX files.</summary>
    public const string FashionMnistFolder = SpikeEngine.Data.FashionMnist.DebianFolder;

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips the test with <paramref name="reason"/>, or fails it inside CI.</summary>
    [DoesNotReturn]
    public static void MissingPrerequisite(string reason)
    {
        if (InCi) Assert.Fail($"CI=true, so this check may not be skipped: {reason}");
        Assert.Ignore(reason);
        throw new UnreachableException();
    }

    /// <summary><see cref="MissingPrerequisite"/> unless <paramref name="present"/>.</summary>
    public static void Require([DoesNotReturnIf(false)] bool present, string reason)
    {
        if (!present) MissingPrerequisite(reason);
    }

    /// <summary>The checkout's root (the first folder above the test binary holding SpikeEngine.sln), or null outside a checkout.</summary>
    public static string? RepositoryRoot => Root.Value;

    private static readonly Lazy<string?> Root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SpikeEngine.sln"))) return d.FullName;
        return null;
    });

    /// <summary>The checkout's root; a missing prerequisite when the tests do not run from a checkout.</summary>
    public static string RequireRepositoryRoot()
    {
        var root = RepositoryRoot;
        Require(root is not null, $"the repository (SpikeEngine.sln) is not above the test binary {AppContext.BaseDirectory}; run the tests from a checkout");
        return root;
    }

    /// <summary>
    /// The shared data folder: $SPIKEENGINE_DATA when set, else ../shared/data beside the repository root
    /// (null when neither is known).
    /// </summary>
    public static string? DataFolder
    {
        get
        {
            var set = Environment.GetEnvironmentVariable(DataVariable);
            if (!string.IsNullOrEmpty(set)) return Path.GetFullPath(set);
            return RepositoryRoot is { } root ? Path.GetFullPath(Path.Combine(root, "..", "shared", "data")) : null;
        }
    }

    /// <summary>A folder of the shared data (e.g. "cifar-10-batches-bin"); a missing prerequisite unless <paramref name="marker"/> is in it.</summary>
    public static string RequireData(string folder, string marker)
    {
        var data = DataFolder;
        Require(data is not null, $"no data folder: set {DataVariable} or run from a checkout with ../shared/data beside it");
        var path = Path.Combine(data, folder);
        Require(File.Exists(Path.Combine(path, marker)),
            $"{marker} not found in {path} (set {DataVariable} to the folder that holds {folder}/, or place it at ../shared/data beside the repository)");
        return path;
    }

    /// <summary>The Fashion-MNIST folder of Debian's package; a missing prerequisite unless <paramref name="file"/> is there.</summary>
    public static string RequireFashionMnist(string file = "t10k-images-idx3-ubyte.gz")
    {
        Require(File.Exists(Path.Combine(FashionMnistFolder, file)),
            $"Fashion-MNIST ({file}) not found in {FashionMnistFolder}: apt-get install dataset-fashion-mnist");
        return FashionMnistFolder;
    }

    /// <summary>A missing prerequisite unless <see cref="Python"/> imports torch and numpy.</summary>
    public static void RequirePythonWithTorch()
    {
        Require(File.Exists(Python), $"{Python} not found (apt-get install python3-torch python3-numpy for the PyTorch cross-checks)");
        var (code, output) = TorchProbe.Value;
        // The last line of a traceback says what failed (e.g. "ModuleNotFoundError: No module named 'torch'").
        string why = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {code}";
        Require(code == 0, $"{Python} cannot import torch and numpy ({why}); apt-get install python3-torch python3-numpy");
    }

    private static readonly Lazy<(int Code, string Output)> TorchProbe = new(() => RunProcess(Python, ["-c", "import torch, numpy"], TimeSpan.FromMinutes(2)));

    /// <summary>Runs a program to its end (or kills it after <paramref name="timeout"/> and fails the test); returns its exit code and output.</summary>
    public static (int Code, string Output) RunProcess(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(" ", psi.ArgumentList)} did not finish in {timeout.TotalSeconds:F0} s.");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
