using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using static SpikeEngine.Tests.Data.DataTestUtil;

namespace SpikeEngine.Tests.Data;

public class DownloadTests
{
    /// <summary>Serves fixed bytes for any address, or fails like an unreachable network.</summary>
    private sealed class FakeHandler(byte[]? body, HttpStatusCode status = HttpStatusCode.OK) : HttpMessageHandler
    {
        public List<Uri> Requested { get; } = [];
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requested.Add(request.RequestUri!);
            if (body is null) throw new HttpRequestException("Name or service not known (simulated: no network)");
            return Task.FromResult(new HttpResponseMessage(status) { Content = new ByteArrayContent(body) });
        }
    }

    /// <summary>A cifar-10-binary.tar.gz look-alike: cifar-10-batches-bin/ with one record per file.</summary>
    private static byte[] MakeCifarTarGz(TempDir tmp)
    {
        var src = Directory.CreateDirectory(tmp["src/cifar-10-batches-bin"]).FullName;
        for (int b = 1; b <= 5; b++) WriteBinaryRecords(Path.Combine(src, $"data_batch_{b}.bin"), [[b]]);
        WriteBinaryRecords(Path.Combine(src, "test_batch.bin"), [[0], [9]]);
        File.WriteAllText(Path.Combine(src, "batches.meta.txt"), string.Join("\n", Cifar.Cifar10ClassNames) + "\n");
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            TarFile.CreateFromDirectory(src, gz, includeBaseDirectory: true);
        return ms.ToArray();
    }

    private static string[] Leftovers(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Where(n => n!.StartsWith('.')).ToArray()!;

    [Test]
    public void NoNetworkGivesAClearErrorNamingAddressAndFolder()
    {
        using var tmp = new TempDir();
        var target = tmp["data"];
        var handler = new FakeHandler(null);
        var ex = Assert.Throws<IOException>(() => Downloads.Ensure("CIFAR10", target, handler));
        Assert.That(ex!.Message, Does.Contain("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")
            .And.Contain(Path.GetFullPath(target)).And.Contain("c32a1d4ab5d03f1284b67883e8d87530"));
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty, "nothing partial left behind");
        // Fashion-MNIST tries every official mirror, GitHub first.
        var fm = new FakeHandler(null);
        ex = Assert.Throws<IOException>(() => Downloads.Ensure("FashionMNIST", target, fm));
        Assert.That(fm.Requested[0].ToString(), Does.StartWith("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"));
        Assert.That(fm.Requested, Has.Count.EqualTo(2));
        Assert.That(ex!.Message, Does.Contain("train-images-idx3-ubyte.gz"));
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
        // Through the Datasets entry point with download: the same clear error.
        Assert.Throws<IOException>(() => Downloads.Ensure("CIFAR100", target, new FakeHandler(null)));
    }

    [Test]
    public void VerifiedArchiveIsUnpackedAndLoads()
    {
        using var tmp = new TempDir();
        var archive = MakeCifarTarGz(tmp);
        File.WriteAllBytes(tmp["a.tgz"], archive);
        var md5 = Downloads.Md5Of(tmp["a.tgz"]);
        var target = tmp["data"];
        var resource = new DownloadResource("cifar-10-binary.tar.gz", ["https://example.invalid/cifar-10-binary.tar.gz"], md5, true);
        Downloads.Fetch([resource], target, new FakeHandler(archive));
        Assert.That(Leftovers(target), Is.Empty);
        Assert.That(File.Exists(Path.Combine(target, "cifar-10-binary.tar.gz")), Is.False, "the archive is not kept");
        var bundle = Datasets.Load("CIFAR10", target);
        Assert.That((bundle.Train.Count, bundle.Test.Count), Is.EqualTo((5, 2)));
        Assert.That(bundle.Test.GetLabel(1), Is.EqualTo(9));
    }

    [Test]
    public void WrongChecksumOrHttpErrorLeavesNothingBehind()
    {
        using var tmp = new TempDir();
        var archive = MakeCifarTarGz(tmp);
        var target = tmp["data"];
        var resource = new DownloadResource("cifar-10-binary.tar.gz", ["https://example.invalid/x.tar.gz"], "00000000000000000000000000000000", true);
        var ex = Assert.Throws<IOException>(() => Downloads.Fetch([resource], target, new FakeHandler(archive)));
        Assert.That(ex!.Message, Does.Contain("MD5").And.Contain("https://example.invalid/x.tar.gz"));
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
        ex = Assert.Throws<IOException>(() => Downloads.Fetch([resource], target, new FakeHandler([], HttpStatusCode.NotFound)));
        Assert.That(ex!.Message, Does.Contain("404"));
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
        // A verified but broken archive: the error names the source and the staging folder is removed.
        var junk = "this is not gzip"u8.ToArray();
        File.WriteAllBytes(tmp["junk"], junk);
        var junkResource = resource with { Md5 = Downloads.Md5Of(tmp["junk"]) };
        var bad = Assert.Throws<InvalidDataException>(() => Downloads.Fetch([junkResource], target, new FakeHandler(junk)));
        Assert.That(bad!.Message, Does.Contain("https://example.invalid/x.tar.gz"));
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
    }

    [Test]
    public void PlainFilesAreVerifiedAndMovedIntoPlace()
    {
        using var tmp = new TempDir();
        var bytes = "label data"u8.ToArray();
        File.WriteAllBytes(tmp["f"], bytes);
        var r = new DownloadResource("t10k-labels-idx1-ubyte.gz", ["https://mirror-a.invalid/f", "https://mirror-b.invalid/f"], Downloads.Md5Of(tmp["f"]), false);
        var target = tmp["data"];
        Downloads.Fetch([r], target, new FakeHandler(bytes));
        Assert.That(File.ReadAllBytes(Path.Combine(target, "t10k-labels-idx1-ubyte.gz")), Is.EqualTo(bytes));
        Assert.That(Leftovers(target), Is.Empty);
    }
}
