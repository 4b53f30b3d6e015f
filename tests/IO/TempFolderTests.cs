namespace SpikeEngine.Tests.IO;

/// <summary>Tests that each get a fresh temporary folder (<c>prefix_GUID</c>), deleted after the test.</summary>
public abstract class TempFolderTests(string prefix)
{
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void MakeFolder() => Directory.CreateDirectory(Dir = Path.Combine(Path.GetTempPath(), $"{prefix}_{Guid.NewGuid():N}"));

    [TearDown]
    public void RemoveFolder() => Directory.Delete(Dir, recursive: true);
}
