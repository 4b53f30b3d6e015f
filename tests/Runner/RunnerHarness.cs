using System.Buffers.Binary;
using System.IO.Compression;
using SpikeEngine.Runner.Cli;

namespace SpikeEngine.Tests.Runner;

/// <summary>Runs the CLI in-process, on the real engine, and captures its exit code, stdout and stderr.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Err)
{
    public static CliRun Of(params string[] args) => With(default, args);

    public static CliRun With(CancellationToken cancel, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = RunnerCli.Run(args, o, e, cancel);
        return new CliRun(code, o.ToString(), e.ToString());
    }

    /// <summary>A failure as a user should see it: non-zero, one line on stderr, no stack trace.</summary>
    public void AssertOneLineFailure(params string[] mustContain)
    {
        Assert.That(ExitCode, Is.Not.EqualTo(0), $"expected failure; stdout: {Out}");
        var lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"stderr must be one line, was:\n{Err}");
        Assert.That(Err, Does.Not.Contain("   at "));
        foreach (var m in mustContain) Assert.That(Err, Does.Contain(m));
    }

    public void AssertSuccess() => Assert.That(ExitCode, Is.EqualTo(0), $"stderr: {Err}\nstdout: {Out}");
}

/// <summary>The model and Fashion-MNIST test set bundled with the Runner: the real engine on real data, fast with --limit.</summary>
internal static class Bundled
{
    public static string Assets => EmbeddedDefault.AssetsFolder();
    public static string Model => Path.Combine(Assets, EmbeddedDefault.ModelFile);
    public static string Data => Path.Combine(Assets, EmbeddedDefault.DataFolder);

    public static void Require()
    {
        Assert.That(File.Exists(Path.Combine(Data, "t10k-images-idx3-ubyte.gz")), Is.True, $"bundled test set missing in {Data}");
        Assert.That(File.Exists(Model), Is.True, $"bundled model missing: {Model}");
    }

    /// <summary>The bundled test set (independent of the Runner's data path).</summary>
    public static InMemoryImageDataset TestSet() => FashionMnist.Load(Data, train: false);

    /// <summary>Writes train/t10k IDX .gz files: the bundled test images from <paramref name="trainStart"/> as the training set, then the next as the test set.</summary>
    public static void WriteTinyFashionMnist(string folder, int train, int test, int trainStart = 0)
    {
        var set = TestSet();
        Directory.CreateDirectory(folder);
        Write("train", trainStart, train);
        Write("t10k", trainStart + train, test);

        void Write(string prefix, int start, int count)
        {
            using (var gz = new GZipStream(File.Create(Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz")), CompressionLevel.Fastest))
            {
                var header = new byte[16];
                BinaryPrimitives.WriteInt32BigEndian(header, 0x0803);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 28);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), 28);
                gz.Write(header);
                for (int i = 0; i < count; i++) gz.Write(set.GetImage(start + i).Pixels);
            }
            using (var gz = new GZipStream(File.Create(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz")), CompressionLevel.Fastest))
            {
                var header = new byte[8];
                BinaryPrimitives.WriteInt32BigEndian(header, 0x0801);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
                gz.Write(header);
                for (int i = 0; i < count; i++) gz.WriteByte((byte)set.GetLabel(start + i));
            }
        }
    }
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("runner-test-").FullName;
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }

    /// <summary>Creates a file, with folders.</summary>
    public string Touch(string relative, string content = "x")
    {
        var p = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
        return p;
    }
}

/// <summary>A writer that cancels a token when a line containing <paramref name="trigger"/> is written (stops training at a chosen point).</summary>
internal sealed class CancellingWriter(CancellationTokenSource cancel, string trigger) : StringWriter
{
    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        if (value is not null && value.Contains(trigger)) cancel.Cancel();
    }
}
