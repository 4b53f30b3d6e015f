using System.Reflection;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda;

/// <summary>
/// Finds libcuda, libcublas, libcudnn and libnccl for the engine's LibraryImport declarations (logical names
/// "cuda", "cublas", "cudnn", "nccl"). Search order: SPIKEENGINE_CUDA_LIB_DIR (one or more folders separated
/// by the path separator), CUDA_PATH/lib64, LD_LIBRARY_PATH, the system library folders,
/// /usr/local/cuda*/lib64, pip-installed site-packages/nvidia/*/lib (and torch/lib), and finally
/// the loader's own search by soname.
/// With SPIKEENGINE_CUDA=emulator, "cuda" and "cublas" both resolve to the emulated device
/// (kernels/emulator, see kernels/README.md "The emulated device") and cuDNN is reported absent.
/// </summary>
public static class CudaLibraries
{
    public const string Driver = "cuda";
    public const string Cublas = "cublas";
    public const string Cudnn = "cudnn";
    /// <summary>NCCL (engine/Distributed): the GPU-to-GPU collectives of data-parallel training.</summary>
    public const string Nccl = "nccl";
    public const string OverrideVariable = "SPIKEENGINE_CUDA_LIB_DIR";
    /// <summary>SPIKEENGINE_CUDA=emulator selects the emulated device instead of libcuda/libcublas.</summary>
    public const string ModeVariable = "SPIKEENGINE_CUDA";
    /// <summary>Path of the emulator library, when it is not at kernels/emulator/build/ above the program or the working folder.</summary>
    public const string EmulatorPathVariable = "SPIKEENGINE_CUDA_EMULATOR";
    public const string EmulatorFileName = "libspikeengine_cuda_emulator.so";
    public const string CudnnAbsentUnderEmulator = "cuDNN absent (emulator)";
    public const string NcclAbsentUnderEmulator = "NCCL absent (emulator)";

    /// <summary>Whether SPIKEENGINE_CUDA=emulator (case-insensitive) is set.</summary>
    public static bool EmulatorSelected =>
        string.Equals(Environment.GetEnvironmentVariable(ModeVariable)?.Trim(), "emulator", StringComparison.OrdinalIgnoreCase);

    private static readonly object Gate = new();
    private static bool _resolverInstalled;
    private static readonly Dictionary<string, (IntPtr Handle, string? Error)> Loaded = new();

    /// <summary>File names tried for each logical library, most wanted first.</summary>
    public static IReadOnlyList<string> FileNames(string library) => library switch
    {
        Driver => OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"],
        Cublas => OperatingSystem.IsWindows()
            ? ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"]
            : ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        Cudnn => OperatingSystem.IsWindows()
            ? ["cudnn64_9.dll", "cudnn64_8.dll"]
            : ["libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"],
        Nccl => OperatingSystem.IsWindows() ? [] : ["libnccl.so.2", "libnccl.so"],
        _ => throw new ArgumentException($"Unknown CUDA library '{library}'.")
    };

    /// <summary>
    /// Libraries to load from the same folder first, so the main library's own dlopen of them (by soname)
    /// finds them already loaded: libcublasLt for cuBLAS, the sub-libraries of cuDNN 8/9.
    /// </summary>
    private static IEnumerable<string> Companions(string library, string folder, string fileName)
    {
        if (OperatingSystem.IsWindows()) return [];
        var major = fileName.Split(".so.") is [_, var v] ? v : "";
        return library switch
        {
            Cublas => [Path.Combine(folder, fileName.Replace("libcublas", "libcublasLt"))],
            Cudnn when major.Length > 0 => SafeFiles(folder, $"libcudnn_*.so.{major}"),
            _ => []
        };
    }

    private static string[] SafeFiles(string folder, string pattern)
    {
        try { return Directory.GetFiles(folder, pattern).Order().ToArray(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>Folders searched, in order (existing ones only).</summary>
    public static IReadOnlyList<string> SearchFolders()
    {
        var folders = new List<string>();
        void AddList(string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return;
            foreach (var f in value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                folders.Add(f);
        }
        AddList(Environment.GetEnvironmentVariable(OverrideVariable));
        var cudaPath = Environment.GetEnvironmentVariable("CUDA_PATH");
        if (!string.IsNullOrWhiteSpace(cudaPath))
        {
            folders.Add(Path.Combine(cudaPath, "lib64"));
            folders.Add(Path.Combine(cudaPath, "lib"));
            folders.Add(Path.Combine(cudaPath, "bin"));
        }
        AddList(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"));
        folders.AddRange(["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib",
            "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib",
            "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]);
        foreach (var cuda in SafeDirectories("/usr/local", "cuda-*").OrderDescending())
            folders.Add(Path.Combine(cuda, "lib64"));
        foreach (var site in SitePackages())
        {
            foreach (var lib in SafeDirectories(Path.Combine(site, "nvidia"), "*").Order())
                folders.Add(Path.Combine(lib, "lib"));
            folders.Add(Path.Combine(site, "torch", "lib"));
        }
        return folders.Distinct().Where(Directory.Exists).ToList();
    }

    private static IEnumerable<string> SitePackages()
    {
        var roots = new List<string>();
        foreach (var env in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
        {
            var v = Environment.GetEnvironmentVariable(env);
            if (!string.IsNullOrWhiteSpace(v)) roots.Add(Path.Combine(v, "lib"));
        }
        var home = Environment.GetEnvironmentVariable("HOME");
        if (!string.IsNullOrWhiteSpace(home)) roots.Add(Path.Combine(home, ".local", "lib"));
        roots.AddRange(["/usr/local/lib", "/usr/lib", "/opt/conda/lib", "/usr/local/lib64"]);
        foreach (var root in roots)
            foreach (var py in SafeDirectories(root, "python3*").OrderDescending())
                foreach (var kind in new[] { "site-packages", "dist-packages" })
                {
                    var p = Path.Combine(py, kind);
                    if (Directory.Exists(p)) yield return p;
                }
    }

    private static IEnumerable<string> SafeDirectories(string folder, string pattern)
    {
        try { return Directory.Exists(folder) ? Directory.GetDirectories(folder, pattern) : []; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>Installs the DllImport resolver for the engine assembly (idempotent).</summary>
    public static void InstallResolver()
    {
        lock (Gate)
        {
            if (_resolverInstalled) return;
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(CudaLibraries).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Another part of the engine installed a resolver first; it must forward our names here.
            }
            _resolverInstalled = true;
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        => libraryName is Driver or Cublas or Cudnn or Nccl && TryLoad(libraryName, out var handle, out _) ? handle : IntPtr.Zero;

    /// <summary>Loads a logical library once; on failure <paramref name="error"/> says which file names and folders were tried.</summary>
    public static bool TryLoad(string library, out IntPtr handle, out string? error)
    {
        lock (Gate)
        {
            if (!Loaded.TryGetValue(library, out var entry))
            {
                entry = Load(library);
                Loaded[library] = entry;
            }
            handle = entry.Handle;
            error = entry.Error;
            return handle != IntPtr.Zero;
        }
    }

    private static (IntPtr, string?) Load(string library)
    {
        if (EmulatorSelected)
            return library switch { Cudnn => (IntPtr.Zero, CudnnAbsentUnderEmulator), Nccl => (IntPtr.Zero, NcclAbsentUnderEmulator), _ => LoadEmulator() };
        var names = FileNames(library);
        var folders = SearchFolders();
        foreach (var folder in folders)
            foreach (var name in names)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path)) continue;
                var companions = Companions(library, folder, name).Where(File.Exists).ToList();
                for (int pass = 0; pass < 2; pass++) // a second pass loads those whose dependencies came later in the first
                    foreach (var companion in companions) NativeLibrary.TryLoad(companion, out _);
                if (NativeLibrary.TryLoad(path, out var h)) return (h, null);
            }
        foreach (var name in names) // the loader's own search (ldconfig cache, RUNPATH, ...)
            if (NativeLibrary.TryLoad(name, out var h)) return (h, null);
        return (IntPtr.Zero, $"{names[0]} not found (searched {folders.Count} folders; set {OverrideVariable} to the folder that holds it)");
    }

    /// <summary>
    /// Where the emulator library is looked for: SPIKEENGINE_CUDA_EMULATOR, then kernels/emulator/build/ in the
    /// program's folder and each folder above it, then the same from the working folder.
    /// </summary>
    public static IReadOnlyList<string> EmulatorCandidates()
    {
        var paths = new List<string>();
        var explicitPath = Environment.GetEnvironmentVariable(EmulatorPathVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath)) paths.Add(explicitPath.Trim());
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                paths.Add(Path.Combine(dir.FullName, "kernels", "emulator", "build", EmulatorFileName));
        return paths.Distinct().ToList();
    }

    private static (IntPtr, string?) LoadEmulator()
    {
        if (!OperatingSystem.IsLinux()) return (IntPtr.Zero, "the CUDA emulator runs on Linux only");
        var explicitPath = Environment.GetEnvironmentVariable(EmulatorPathVariable);
        foreach (var path in EmulatorCandidates())
        {
            if (!File.Exists(path)) continue;
            if (NativeLibrary.TryLoad(path, out var h)) return (h, null);
            return (IntPtr.Zero, $"CUDA emulator {path} does not load (rebuild it: kernels/emulator/build.sh)");
        }
        return (IntPtr.Zero, !string.IsNullOrWhiteSpace(explicitPath)
            ? $"CUDA emulator not found at {EmulatorPathVariable}={explicitPath}"
            : $"CUDA emulator not built ({ModeVariable}=emulator; run kernels/emulator/build.sh, or set {EmulatorPathVariable} to {EmulatorFileName})");
    }
}
