using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.IO;

/// <summary>Paths of the PyTorch-made fixtures (tools/fixtures/make_checkpoints.py) and a way to run that script.</summary>
internal static class CheckpointFixtures
{
    public static string Folder => Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "checkpoints");

    public static string File(string name) => Path.Combine(Folder, name);

    public static JsonElement Index => JsonDocument.Parse(System.IO.File.ReadAllText(File("index.json"))).RootElement;

    /// <summary>
    /// Runs tools/fixtures/make_checkpoints.py with Debian's PyTorch. Without torch the test is skipped on a
    /// developer's machine and fails inside CI (see TestEnvironment).
    /// </summary>
    public static (int ExitCode, string Output) RunScript(params string[] args)
    {
        TestEnvironment.RequirePythonWithTorch();
        var script = Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "fixtures", "make_checkpoints.py");
        return TestEnvironment.RunProcess(TestEnvironment.Python, [script, .. args], TimeSpan.FromMinutes(2));
    }
}
