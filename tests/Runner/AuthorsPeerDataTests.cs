using System.Text.Json;
using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.Runner;

/// <summary>
/// tools/peers/authors_cos.py prepare: the binary CIFAR-10 the engine reads, written as torchvision's python version
/// for the COS authors' script (the whole-script peer of `snn`). Torchvision must read back every training image and
/// the first N test images with the binary files' labels and pixels, or the timing compares different work.
/// </summary>
public class AuthorsPeerDataTests
{
    private const int Limit = 25;

    [Test]
    public void PreparedPythonCifarHoldsTheBinaryFilesImagesAndLabels()
    {
        TestEnvironment.RequirePythonWithTorch();
        var cifar = TestEnvironment.RequireData("cifar-10-batches-bin", "test_batch.bin");
        using var tmp = new TempFolder();
        string script = Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "peers", "authors_cos.py");
        var (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python,
            [script, "prepare", "--datadir", Path.GetDirectoryName(cifar)!, "--out", tmp["py"], "--limit", Limit.ToString()], TimeSpan.FromMinutes(5));
        Assert.That(code, Is.Zero, output);

        // torchvision as the authors' script uses it (its MD5 check knows only the original files), test set and one training image
        const string read = """
            import json, sys
            import torchvision.datasets.cifar as c
            c.check_integrity = lambda *a, **k: True
            test = c.CIFAR10(sys.argv[1], train=False, download=False)
            train = c.CIFAR10(sys.argv[1], train=True, download=False)
            print(json.dumps({"test": len(test), "train": len(train), "classes": test.classes,
                              "labels": [int(t) for t in test.targets],
                              "first": test.data[0].transpose(2, 0, 1).reshape(-1).tolist(),
                              "last_train": train.data[-1].transpose(2, 0, 1).reshape(-1).tolist(), "last_train_label": int(train.targets[-1])}))
            """;
        (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python, ["-c", read, tmp["py"]], TimeSpan.FromMinutes(5));
        Assert.That(code, Is.Zero, output);
        var r = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

        const int record = 1 + 3 * 32 * 32;
        var test = File.ReadAllBytes(Path.Combine(cifar, "test_batch.bin"));
        var lastBatch = File.ReadAllBytes(Path.Combine(cifar, "data_batch_5.bin"));
        Assert.That(r.GetProperty("test").GetInt32(), Is.EqualTo(Limit), "the test set cut to --limit");
        Assert.That(r.GetProperty("train").GetInt32(), Is.EqualTo(50_000), "every training image");
        Assert.That(r.GetProperty("classes").EnumerateArray().Select(e => e.GetString()).ToArray(),
            Is.EqualTo(File.ReadAllLines(Path.Combine(cifar, "batches.meta.txt")).Where(l => l.Trim().Length > 0).Select(l => l.Trim()).ToArray()));
        Assert.That(r.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            Is.EqualTo(Enumerable.Range(0, Limit).Select(i => (int)test[i * record]).ToArray()), "test labels");
        Assert.That(r.GetProperty("first").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            Is.EqualTo(test.AsSpan(1, record - 1).ToArray().Select(b => (int)b).ToArray()), "the first test image, channel by channel");
        int last = lastBatch.Length - record;
        Assert.That(r.GetProperty("last_train_label").GetInt32(), Is.EqualTo((int)lastBatch[last]), "the last training label");
        Assert.That(r.GetProperty("last_train").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            Is.EqualTo(lastBatch.AsSpan(last + 1, record - 1).ToArray().Select(b => (int)b).ToArray()), "the last training image");
    }
}
