using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace SpikeEngine.Data;

/// <summary>One downloadable file: its addresses (tried in order), published MD5, and whether to unpack it.</summary>
public sealed record DownloadResource(string FileName, string[] Urls, string Md5, bool ExtractTarGz);

/// <summary>
/// Fetches datasets from their official addresses for --download: streams each file to a temporary
/// file in the target folder, checks the published MD5, then either renames it into place or unpacks
/// the .tar.gz (into a temporary folder first, then moved into place). Any failure removes the
/// temporary files, so a partial download never looks like data.
/// </summary>
public static class Downloads
{
    private const string Toronto = "https://www.cs.toronto.edu/~kriz/";
    private static readonly string[] FashionMnistMirrors =
    [
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ];
    private static readonly string[] MnistMirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];

    /// <summary>The files of a dataset (binary CIFAR layout, the one the engine prefers).</summary>
    public static IReadOnlyList<DownloadResource> Resources(string dataset) => Datasets.Canonical(dataset) switch
    {
        "CIFAR10" => [new("cifar-10-binary.tar.gz", [Toronto + "cifar-10-binary.tar.gz"], "c32a1d4ab5d03f1284b67883e8d87530", true)],
        "CIFAR100" => [new("cifar-100-binary.tar.gz", [Toronto + "cifar-100-binary.tar.gz"], "03b5dce01913d631647c71ecec9e9cb8", true)],
        "FashionMNIST" => Idx(FashionMnistMirrors,
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"), ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"), ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")),
        "MNIST" => Idx(MnistMirrors,
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"), ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"), ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")),
        var other => throw new NotSupportedException($"{other} cannot be downloaded automatically. {Datasets.HowToGet(other)}"),
    };

    /// <summary>The python-layout CIFAR tarballs (what torchvision downloads), for completeness.</summary>
    public static readonly DownloadResource Cifar10Python = new("cifar-10-python.tar.gz", [Toronto + "cifar-10-python.tar.gz"], "c58f30108f718f92721af3b95e74349a", true);
    public static readonly DownloadResource Cifar100Python = new("cifar-100-python.tar.gz", [Toronto + "cifar-100-python.tar.gz"], "eb9058c3a382ffc7106e4002c42a8d85", true);

    private static DownloadResource[] Idx(string[] mirrors, params (string file, string md5)[] files) =>
        files.Select(f => new DownloadResource(f.file, mirrors.Select(m => m + f.file).ToArray(), f.md5, false)).ToArray();

    /// <summary>Makes sure <paramref name="dataset"/> is in <paramref name="folder"/>, downloading it when it is not.</summary>
    public static void Ensure(string dataset, string folder, HttpMessageHandler? handler = null)
    {
        if (Datasets.Locate(dataset, folder) is not null) return;
        Fetch(Resources(dataset), folder, handler);
    }

    /// <summary>Downloads, verifies and unpacks the given resources into <paramref name="folder"/>.</summary>
    public static void Fetch(IReadOnlyList<DownloadResource> resources, string folder, HttpMessageHandler? handler = null)
    {
        Directory.CreateDirectory(folder);
        using var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.Timeout = TimeSpan.FromMinutes(30);
        foreach (var r in resources) FetchOne(r, folder, client);
    }

    private static void FetchOne(DownloadResource r, string folder, HttpClient client)
    {
        var target = Path.Combine(folder, r.FileName);
        var temp = Path.Combine(folder, $".{r.FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.part");
        var failures = new List<string>();
        try
        {
            bool done = false;
            foreach (var url in r.Urls)
            {
                try
                {
                    Download(client, url, temp);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    failures.Add($"{url}: {e.Message}");
                    continue;
                }
                var md5 = Md5Of(temp);
                if (!string.Equals(md5, r.Md5, StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add($"{url}: MD5 {md5} does not match the published {r.Md5} (damaged or changed file)");
                    continue;
                }
                if (r.ExtractTarGz) ExtractTarGz(temp, folder, url);
                else File.Move(temp, target, overwrite: true);
                done = true;
                break;
            }
            if (!done)
                throw new IOException($"Could not download {r.FileName}: {string.Join("; ", failures)}. " +
                    $"Without network access, fetch {r.Urls[0]} yourself (MD5 {r.Md5}) and {(r.ExtractTarGz ? "unpack it in" : "put it in")} {Path.GetFullPath(folder)}.");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static void Download(HttpClient client, string url, string path)
    {
        using var response = client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        using var body = response.Content.ReadAsStream();
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        body.CopyTo(file, 1 << 20);
        long? expected = response.Content.Headers.ContentLength;
        if (expected is long n && file.Length != n)
            throw new IOException($"received {file.Length} of {n} bytes");
    }

    public static string Md5Of(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(s));
    }

    /// <summary>Unpacks into a temporary folder, then moves the top-level entries into <paramref name="folder"/>.</summary>
    internal static void ExtractTarGz(string archive, string folder, string source)
    {
        var staging = Path.Combine(folder, $".extract.{Environment.ProcessId}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var stagingFull = Path.GetFullPath(staging) + Path.DirectorySeparatorChar;
            try
            {
                using var fs = File.OpenRead(archive);
                using var gz = new GZipStream(fs, CompressionMode.Decompress);
                using var tar = new TarReader(gz);
                while (tar.GetNextEntry() is { } entry)
                {
                    var dest = Path.GetFullPath(Path.Combine(staging, entry.Name));
                    if (!dest.StartsWith(stagingFull, StringComparison.Ordinal))
                        throw new InvalidDataException($"entry '{entry.Name}' points outside the target folder");
                    switch (entry.EntryType)
                    {
                        case TarEntryType.Directory:
                            Directory.CreateDirectory(dest);
                            break;
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                            entry.ExtractToFile(dest, overwrite: true);
                            break;
                        default:
                            break; // links and special entries are not part of the dataset archives
                    }
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new InvalidDataException($"{source}: the archive could not be unpacked ({e.Message}).", e);
            }
            foreach (var entry in Directory.EnumerateFileSystemEntries(staging))
            {
                var dest = Path.Combine(folder, Path.GetFileName(entry));
                if (Directory.Exists(dest)) Directory.Delete(dest, recursive: true);
                else if (File.Exists(dest)) File.Delete(dest);
                if (Directory.Exists(entry)) Directory.Move(entry, dest);
                else File.Move(entry, dest);
            }
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }
}
