using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.Snn;

/// <summary>
/// Fixtures written by tools/reference/cos_reference.py (the from-the-spec PyTorch implementation).
/// Committed copies live in tests/fixtures/snn; the "freshly regenerated" tests run the script with
/// Debian's PyTorch into a temporary folder first, so the comparison also runs against a fresh reference
/// (skipped without torch on a developer's machine, a failure inside CI: see TestEnvironment).
/// </summary>
internal static class ReferenceFixtures
{
    public static string Committed(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "snn", file);

    /// <summary>Runs the reference script with the given arguments (plus --out) and loads what it wrote.</summary>
    public static SafeTensors.Contents Regenerate(string folder, string name, params string[] args)
    {
        TestEnvironment.RequirePythonWithTorch();
        var script = Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "reference", "cos_reference.py");
        var outPath = Path.Combine(folder, name);
        var (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python, [script, .. args, "--out", outPath], TimeSpan.FromMinutes(5));
        if (code != 0) throw new InvalidOperationException($"cos_reference.py failed ({code}):\n{output}");
        return SafeTensors.Load(outPath);
    }
}
