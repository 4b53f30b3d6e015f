using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.IO;

/// <summary>
/// Runs the fixture scripts that write large files at test time (tools/fixtures/imagenet_*.py) with Debian's
/// PyTorch; a missing script, torch or torchvision is a missing prerequisite (<see cref="TestEnvironment"/>).
/// </summary>
internal static class FixtureScripts
{
    public static (int ExitCode, string Output) RunTool(string script, int timeoutSeconds, params string[] args)
    {
        var path = Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "fixtures", script);
        TestEnvironment.Require(File.Exists(path), $"{path} not found");
        TestEnvironment.RequirePythonWithTorch();
        var (code, output) = TorchvisionProbe.Value;
        TestEnvironment.Require(code == 0, $"{TestEnvironment.Python} cannot import torchvision and PIL (apt-get install python3-torchvision): {output.Trim()}");
        return TestEnvironment.RunProcess(TestEnvironment.Python, [path, .. args], TimeSpan.FromSeconds(timeoutSeconds));
    }

    private static readonly Lazy<(int Code, string Output)> TorchvisionProbe =
        new(() => TestEnvironment.RunProcess(TestEnvironment.Python, ["-c", "import torchvision, PIL"], TimeSpan.FromMinutes(2)));
}
