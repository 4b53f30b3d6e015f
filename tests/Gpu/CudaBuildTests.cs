using System.Diagnostics;
using System.Text.RegularExpressions;
using SpikeEngine.Backend.Cuda;
using SpikeEngine.Cuda;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// CPU-runnable checks of the CUDA side: every kernels/*.cu compiles to PTX, every kernel the backend
/// launches exists there with the parameter kinds the C# side passes, and the no-GPU paths give clear
/// one-line reasons.
/// </summary>
public class CudaBuildTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "build.cuda.sh")) && Directory.Exists(Path.Combine(dir.FullName, "kernels")))
                return dir.FullName;
        Assert.Ignore("the repository (build.cuda.sh) is not above the test binary; run the tests from a checkout");
        return "";
    }

    private static bool HasNvcc() =>
        File.Exists("/usr/local/cuda/bin/nvcc") ||
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "nvcc")));

    private static string? _ptxFolder;

    /// <summary>
    /// The PTX of the current kernel sources: kernels/ptx when build.cuda.sh already built every module
    /// after the last source change (as CI does before building the engine), otherwise a fresh
    /// build.cuda.sh run into a temporary folder. Skips when nvcc is missing and nothing is built.
    /// </summary>
    private static string BuildPtx()
    {
        if (_ptxFolder is not null) return _ptxFolder;
        var root = RepositoryRoot();
        var kernels = Path.Combine(root, "kernels");
        var built = Path.Combine(kernels, "ptx");
        var sources = Directory.GetFiles(kernels, "*.cu").Concat(Directory.GetFiles(kernels, "*.cuh")).ToList();
        var newestSource = sources.Max(File.GetLastWriteTimeUtc);
        bool upToDate = Directory.GetFiles(kernels, "*.cu").All(cu =>
        {
            var ptx = Path.Combine(built, Path.GetFileNameWithoutExtension(cu) + ".ptx");
            return File.Exists(ptx) && File.GetLastWriteTimeUtc(ptx) >= newestSource;
        });
        if (upToDate) return _ptxFolder = built;
        if (!HasNvcc()) Assert.Ignore("nvcc not found and kernels/ptx is not up to date: install nvidia-cuda-toolkit to compile the kernels");
        var folder = Path.Combine(Path.GetTempPath(), "spikeengine-ptx-" + Guid.NewGuid().ToString("N"));
        var psi = new ProcessStartInfo("bash", [Path.Combine(root, "build.cuda.sh")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root,
        };
        psi.Environment["PTX_OUT"] = folder;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(0), $"build.cuda.sh failed:\n{stdout.Result}\n{stderr.Result}");
        return _ptxFolder = folder;
    }

    [Test]
    public void EveryKernelSourceCompilesToPtx()
    {
        var folder = BuildPtx();
        var sources = Directory.GetFiles(Path.Combine(RepositoryRoot(), "kernels"), "*.cu");
        Assert.That(sources, Is.Not.Empty);
        foreach (var cu in sources)
        {
            var ptx = Path.Combine(folder, Path.GetFileNameWithoutExtension(cu) + ".ptx");
            Assert.That(File.Exists(ptx), Is.True, $"{Path.GetFileName(cu)} produced no PTX");
            var text = File.ReadAllText(ptx);
            foreach (Match m in Regex.Matches(File.ReadAllText(cu), @"extern ""C"" __global__ void (\w+)\("))
                Assert.That(text, Does.Contain($".entry {m.Groups[1].Value}("), $"{Path.GetFileName(cu)}: kernel {m.Groups[1].Value} missing from the PTX");
        }
    }

    /// <summary>PTX parameter kinds of each .entry: .u64 → p or u, .u32/.s32 → i, .f32 → f.</summary>
    private static Dictionary<string, string> EntrySignatures(string ptx)
    {
        var result = new Dictionary<string, string>();
        foreach (Match m in Regex.Matches(ptx, @"\.entry\s+(\w+)\s*\(([^)]*)\)", RegexOptions.Singleline))
        {
            var kinds = Regex.Matches(m.Groups[2].Value, @"\.param\s+\.(\w+)\s+\w+")
                .Select(p => p.Groups[1].Value switch { "u64" or "b64" => 'P', "u32" or "s32" or "b32" => 'i', "f32" => 'f', var t => '?' })
                .ToArray();
            result[m.Groups[1].Value] = new string(kinds);
        }
        return result;
    }

    [Test]
    public void EveryLaunchedKernelExistsWithTheDeclaredParameterKinds()
    {
        var folder = BuildPtx();
        var problems = new List<string>();
        foreach (var spec in CudaKernels.All)
        {
            var file = Path.Combine(folder, spec.Module + ".ptx");
            if (!File.Exists(file)) { problems.Add($"{spec.Name}: no {spec.Module}.ptx"); continue; }
            var entries = EntrySignatures(File.ReadAllText(file));
            if (!entries.TryGetValue(spec.Name, out var ptxKinds)) { problems.Add($"{spec.Name}: not in {spec.Module}.ptx"); continue; }
            var declared = new string(spec.Signature.Select(c => c is 'p' or 'u' ? 'P' : c).ToArray());
            if (declared != ptxKinds) problems.Add($"{spec.Name}: C# declares ({spec.Signature}), PTX has ({ptxKinds}) [P = 64-bit]");
        }
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
        // and no kernel in kernels/*.cu is left without a launcher
        var launched = CudaKernels.All.Select(k => k.Name).ToHashSet();
        var defined = Directory.GetFiles(folder, "*.ptx").SelectMany(f => EntrySignatures(File.ReadAllText(f)).Keys);
        Assert.That(defined.Where(d => !launched.Contains(d)), Is.Empty, "kernels defined but never launched");
    }

    [Test]
    public void EmbeddedPtxIsAllOrNothing()
    {
        var present = CudaKernels.Modules.Where(m => CudaKernels.EmbeddedPtx(m) is not null).ToList();
        if (present.Count == 0) Assert.Ignore("no PTX embedded (build.cuda.sh had not run before the engine was built)");
        Assert.That(present, Is.EquivalentTo(CudaKernels.Modules), "every module's PTX is embedded");
    }

    [Test]
    public void EmbeddedCubinsCoverEveryModule()
    {
        // build.cuda.sh builds a cubin per module for each CUBIN_ARCHS entry; a partial set would make the
        // PTX-JIT fallback fail on one module only, at run time on the GPU machine.
        var names = typeof(CudaKernels).Assembly.GetManifestResourceNames().Where(n => n.EndsWith(".cubin")).ToList();
        if (names.Count == 0) Assert.Ignore("no cubin embedded (build.cuda.sh had not run, or CUBIN_ARCHS was empty)");
        var archs = CudaKernels.CubinArchitectures();
        Assert.That(archs, Is.Not.Empty, "some cubins are embedded but no architecture has one for every module: " + string.Join(", ", names));
        Assert.That(names, Has.Count.EqualTo(archs.Count * CudaKernels.Modules.Count), "every cubin belongs to a complete architecture set");
        foreach (var sm in archs)
        {
            var (major, minor) = (int.Parse(sm[3..^1]), int.Parse(sm[^1..]));
            Assert.That(CudaKernels.Modules.All(m => CudaKernels.EmbeddedCubin(m, major, minor) is { Length: > 0 }), sm);
        }
    }

    [Test]
    public void KernelArgumentsAreCheckedAgainstTheSignature()
    {
        var spec = CudaKernels.Scale; // (x, alpha, y, n)
        Assert.That(() => spec.CheckArguments([KernelArg.NullPointer, 2f, KernelArg.NullPointer, 10]), Throws.Nothing);
        Assert.That(() => spec.CheckArguments([KernelArg.NullPointer, 2, KernelArg.NullPointer, 10]),
            Throws.ArgumentException.With.Message.EqualTo("Kernel ew_scale takes (pfpi) but was launched with (pipi)."));
        Assert.That(() => spec.CheckArguments([KernelArg.NullPointer, 2f, KernelArg.NullPointer]),
            Throws.ArgumentException.With.Message.Contains("(pfp)"));
    }

    [Test]
    public void CudaErrorsNameTheCallAndTheStatus()
    {
        var e = new CudaException("cuMemAlloc_v2(1024 bytes)", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        Assert.That(e.Message, Is.EqualTo("cuMemAlloc_v2(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory"));
        Assert.That(() => Cublas.Check(13, "cublasSgemm_v2"),
            Throws.TypeOf<CudaException>().With.Message.EqualTo("cublasSgemm_v2 failed: CUBLAS_STATUS_EXECUTION_FAILED (13)"));
    }

    [Test]
    public void ResolverSearchesTheOverrideFolderFirst()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spikeengine-libdir-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var saved = Environment.GetEnvironmentVariable(CudaLibraries.OverrideVariable);
        try
        {
            Environment.SetEnvironmentVariable(CudaLibraries.OverrideVariable, folder);
            Assert.That(CudaLibraries.SearchFolders()[0], Is.EqualTo(folder));
        }
        finally
        {
            Environment.SetEnvironmentVariable(CudaLibraries.OverrideVariable, saved);
            Directory.Delete(folder);
        }
        Assert.That(CudaLibraries.FileNames(CudaLibraries.Driver)[0], Is.EqualTo(OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1"));
    }

    /// <summary>A CUDA device ordinal no machine here has (the GPU machines have one device).</summary>
    internal const int AbsentOrdinal = 1000;

    /// <summary>
    /// An unusable CUDA device is one clear line on every machine: without a GPU (no driver, no device, kernels not
    /// built) cuda:0 is such a device; where cuda:0 works, an ordinal past the machine's devices is. So the test runs
    /// (and must pass) on the GPU machine too, where it used to be skipped.
    /// </summary>
    [Test]
    public void AnUnavailableCudaDeviceFailsWithOneClearLine()
    {
        var reason = CudaBackend.UnavailableReason();
        var device = reason is null ? Device.Cuda(AbsentOrdinal) : Device.Cuda(0);
        var e = Assert.Throws<CudaUnavailableException>(() => Backends.For(device))!;
        Assert.That(e.Message, Does.Not.Contain("\n"));
        if (reason is null)
            Assert.That(e.Message, Does.Match($@"^no CUDA device cuda:{AbsentOrdinal} \(this machine has \d+: cuda:0\.\.cuda:\d+\)$"));
        else
        {
            Assert.That(e.Message, Is.EqualTo(reason));
            Assert.That(e.Message, Does.StartWith("no CUDA driver (").Or.StartWith("no CUDA device").Or.StartWith("kernels not built")
                .Or.StartWith("CUDA driver cannot start").Or.StartWith("no cuBLAS"));
            if (!CudaLibraries.TryLoad(CudaLibraries.Driver, out _, out _))
                Assert.That(e.Message, Does.StartWith("no CUDA driver (libcuda.so.1 not found"));
        }
        Assert.That(() => Tensor.Zeros(new Shape(2), device), Throws.TypeOf<CudaUnavailableException>());
    }

    [Test]
    public void PoolRoundsSizesIntoSharedBuckets()
    {
        Assert.That(CudaMemoryPool.RoundSize(1), Is.EqualTo(512));
        Assert.That(CudaMemoryPool.RoundSize(512), Is.EqualTo(512));
        Assert.That(CudaMemoryPool.RoundSize(513), Is.EqualTo(1024));
        Assert.That(CudaMemoryPool.RoundSize((1 << 20) + 1), Is.EqualTo(2 << 20));
    }
}
