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

    /// <summary>
    /// The eval-mode logits of <paramref name="model"/> for the input stored in <paramref name="inputNpy"/>, without
    /// gradients; their shape is checked against <paramref name="logitShape"/> when given.
    /// </summary>
    public static float[] Logits(Module model, string inputNpy, int[]? logitShape = null)
    {
        var (input, inputShape) = Npy.Read(inputNpy);
        using (Grad.NoGrad())
        {
            using var x = Tensor.FromArray(input, new Shape(inputShape));
            using var y = model.Forward(x);
            if (logitShape is not null) Assert.That(y.Shape, Is.EqualTo(new Shape(logitShape)));
            return y.ToArray();
        }
    }

    /// <summary>Max |expected − actual|.</summary>
    public static double MaxDifference(float[] expected, float[] actual) => expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();

    /// <summary>Largest |expected|: the logit scale.</summary>
    public static double Scale(float[] expected) => expected.Max(v => Math.Abs(v));
}
