using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace SpikeEngine.Tests.Packaging;

/// <summary>
/// The README's "Use it from C#" lines, taken verbatim from between their marker comments, compiled as a
/// console program against the package `dotnet pack engine` makes (from a local folder source), and run:
/// what it prints must equal what the engine computes here in-process. Runs in CI (tens of seconds: pack,
/// restore from the local folder and the NuGet cache, build, run on 1,000 images).
/// </summary>
[Category("Package")]
public class ReadmeSnippetTests
{
    private const string Begin = "<!-- snippet: use-from-csharp -->", End = "<!-- /snippet -->";

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SpikeEngine.sln"))) return dir.FullName;
        Assert.Ignore("not run from a checkout of the repository (no SpikeEngine.sln above the test folder)");
        return "";
    }

    /// <summary>The C# between the markers of README.md, without the code fence.</summary>
    internal static string Snippet(string readme)
    {
        int b = readme.IndexOf(Begin, StringComparison.Ordinal), e = readme.IndexOf(End, StringComparison.Ordinal);
        Assert.That(b >= 0 && e > b, $"README.md must hold the snippet between '{Begin}' and '{End}'");
        var lines = readme[(b + Begin.Length)..e].Trim().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.That(lines[0], Is.EqualTo("```csharp"), "the snippet is one ```csharp block");
        Assert.That(lines[^1], Is.EqualTo("```"));
        return string.Join('\n', lines[1..^1]) + "\n";
    }

    [Test]
    public void TheReadmeSnippetBuildsAgainstThePackageAndPrintsWhatTheEngineComputes()
    {
        var root = RepositoryRoot();
        var snippet = Snippet(File.ReadAllText(Path.Combine(root, "README.md")));
        // The configuration the tests were built with: the engine beside them is built in it too.
        string configuration = TestContext.CurrentContext.TestDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        string version = "0.0.0-readme." + Guid.NewGuid().ToString("N")[..12];
        var work = Directory.CreateTempSubdirectory("spikeengine-readme-");
        string feed = Path.Combine(work.FullName, "feed"), app = Path.Combine(work.FullName, "app");
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        try
        {
            Dotnet(root, 120, "pack", "engine", "-c", configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            var package = Path.Combine(feed, $"SpikeEngine.{version}.nupkg");
            Assert.That(File.Exists(package), $"dotnet pack made no {package}");
            CheckPackageContents(root, package);

            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(app, "ReadmeApp.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="SpikeEngine" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            // Only the local folder as source: SpikeEngine comes from it, its dependencies from the NuGet cache.
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), snippet);
            Dotnet(app, 180, "build", "-c", "Release", "-o", Path.Combine(app, "out"));
            var printed = Dotnet(root, 120, Path.Combine(app, "out", "ReadmeApp.dll"));

            Assert.That(printed.Trim().Split('\n').Select(l => l.TrimEnd('\r')), Is.EqualTo(Expected(root)), "the program's output");
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { }
            var cached = Path.Combine(packages, "spikeengine", version);
            if (Directory.Exists(cached)) try { Directory.Delete(cached, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The same computation in this process, printed the same way.</summary>
    private static string[] Expected(string root)
    {
        var inv = CultureInfo.InvariantCulture;
        var checkpoint = Checkpoints.Load(Path.Combine(root, "tools/Runner/assets/fashionmnist-cnn-L4.safetensors"));
        var meta = checkpoint.Metadata;
        var ann = ModelZoo.Create(meta.Arch!, meta.Classes!.Value, meta.Levels!.Value, new ModelOptions { Initialize = false });
        ann.LoadStateDict(checkpoint.Tensors);
        var images = FashionMnist.Load(Path.Combine(root, "tools/Runner/assets/fashion-mnist"), train: false);
        var loader = new DataLoader(images, 100, meta.Normalization!);
        var snn = SpikingNetwork.Convert(ann);
        var cos = new SimulationSettings(4, 4);
        var result = SnnEvaluator.Evaluate(ann, snn, loader, [cos], maxBatches: 10);
        using var batch = loader.Epoch().First();
        using var outputs = snn.Simulate(batch.Images, cos);
        int first = SpikingNetwork.PredictionsPerStep(outputs, batch.Size, 4)[^1][0];
        Assert.That(result.Samples, Is.EqualTo(1000));
        return
        [
            string.Create(inv, $"ANN {100 * result.AnnAccuracy:F2} %, SNN (COS ρ = 4) at T = 4: {100 * result.Runs[0].At(4):F2} %"),
            $"image 0: {images.ClassNames[first]} (label {images.ClassNames[batch.Labels[0]]})",
        ];
    }

    /// <summary>README, licence, XML docs, the MIT expression, and every PTX module built here embedded in the library.</summary>
    private static void CheckPackageContents(string root, string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.That(names, Is.SupersetOf(new[] { "README.md", "LICENSE", "lib/net10.0/SpikeEngine.dll", "lib/net10.0/SpikeEngine.xml" }));
        using (var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open()))
        {
            var text = nuspec.ReadToEnd();
            Assert.That(text, Does.Contain("<license type=\"expression\">MIT</license>"));
            Assert.That(text, Does.Contain("<readme>README.md</readme>"));
        }
        using var dll = new MemoryStream();
        using (var s = zip.GetEntry("lib/net10.0/SpikeEngine.dll")!.Open()) s.CopyTo(dll);
        dll.Position = 0;
        using var pe = new PEReader(dll);
        var md = pe.GetMetadataReader();
        var resources = md.ManifestResources.Select(h => md.GetString(md.GetManifestResource(h).Name)).ToHashSet();
        var built = Directory.Exists(Path.Combine(root, "kernels", "ptx"))
            ? Directory.GetFiles(Path.Combine(root, "kernels", "ptx"), "*.ptx").Select(f => $"kernels/{Path.GetFileName(f)}").ToList()
            : [];
        Assert.That(resources, Is.SupersetOf(built), "every kernels/ptx/*.ptx built here is inside the packaged library");
        if (built.Count == 0) TestContext.Out.WriteLine("kernels/ptx is empty here (no nvcc): the package carries no PTX; CI builds it first.");
    }

    /// <summary>Runs `dotnet args…` in <paramref name="folder"/>; returns stdout, fails with the output on a non-zero exit.</summary>
    private static string Dotnet(string folder, int timeoutSeconds, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        // The test host's MSBuild settings must not leak into the child builds.
        foreach (var key in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH" }) start.Environment.Remove(key);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }
        string output = stdout.Result, errors = stderr.Result;
        Assert.That(p.ExitCode, Is.Zero, $"dotnet {string.Join(' ', args)} (in {folder}) exited with {p.ExitCode}:\n{Tail(output)}\n{Tail(errors)}");
        return output;
    }

    private static string Tail(string s) => s.Length <= 4000 ? s : "…" + s[^4000..];
}
