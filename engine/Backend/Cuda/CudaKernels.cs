using System.Reflection;
using SpikeEngine.Cuda;

namespace SpikeEngine.Backend.Cuda;

/// <summary>
/// Every kernel the CUDA backend launches: PTX module (kernels/&lt;module&gt;.cu), name, parameter kinds
/// (p pointer, i int, f float, u unsigned long long) in declaration order. A CPU test checks these
/// against the .entry declarations in the built PTX, so C# and CUDA cannot drift apart silently.
/// </summary>
public static class CudaKernels
{
    // elementwise.cu
    public static readonly KernelSpec Fill = new("elementwise", "ew_fill", "pfi");
    public static readonly KernelSpec Add = new("elementwise", "ew_add", "pppi");
    public static readonly KernelSpec Mul = new("elementwise", "ew_mul", "pppi");
    public static readonly KernelSpec Axpy = new("elementwise", "ew_axpy", "fppi");
    public static readonly KernelSpec Scale = new("elementwise", "ew_scale", "pfpi");
    public static readonly KernelSpec SumPartials = new("elementwise", "reduce_sum_partials", "pip");
    public static readonly KernelSpec Clamp = new("elementwise", "ew_clamp", "pffpi");
    public static readonly KernelSpec ClampBackward = new("elementwise", "ew_clamp_backward", "ppffpi");
    public static readonly KernelSpec CopyBlocks = new("elementwise", "copy_blocks", "piipiiii");
    // linear.cu
    public static readonly KernelSpec AddRowBias = new("linear", "add_row_bias", "ppii");
    public static readonly KernelSpec ColumnSums = new("linear", "column_sums", "ppii");
    // conv.cu
    public static readonly KernelSpec Im2Col = new("conv", "im2col", "ppiiiiiiiiiiii");
    public static readonly KernelSpec Col2Im = new("conv", "col2im", "ppiiiiiiiiiiii");
    public static readonly KernelSpec AddChannelBias = new("conv", "add_channel_bias", "ppiii");
    public static readonly KernelSpec ChannelSums = new("conv", "channel_sums", "ppiii");
    public static readonly KernelSpec BatchToRows = new("conv", "batch_to_rows", "ppiii");
    // norm.cu
    public static readonly KernelSpec BatchNormTraining = new("norm", "bn_forward_training", "pppppffpppiii");
    public static readonly KernelSpec BatchNormInference = new("norm", "bn_forward_inference", "pppppfpiii");
    public static readonly KernelSpec BatchNormBackward = new("norm", "bn_backward", "ppppppppiii");
    // pool.cu
    public static readonly KernelSpec AvgPoolForward = new("pool", "avgpool_forward", "ppiiiiiiiiiii");
    public static readonly KernelSpec AvgPoolBackward = new("pool", "avgpool_backward", "ppiiiiiiiiiii");
    public static readonly KernelSpec GlobalAvgPoolForward = new("pool", "global_avgpool_forward", "ppii");
    public static readonly KernelSpec GlobalAvgPoolBackward = new("pool", "global_avgpool_backward", "ppii");
    // qcfs.cu
    public static readonly KernelSpec QcfsForward = new("qcfs", "qcfs_forward", "ppipi");
    public static readonly KernelSpec QcfsBackward = new("qcfs", "qcfs_backward", "pppippi");
    public static readonly KernelSpec PartialsToFloat = new("qcfs", "reduce_partials_to_float", "pip");
    // loss.cu
    public static readonly KernelSpec SoftmaxCrossEntropy = new("loss", "softmax_cross_entropy", "ppppiif");
    public static readonly KernelSpec ArgMax = new("loss", "argmax_rows", "ppii");
    public static readonly KernelSpec TopKCorrect = new("loss", "topk_correct", "pppiii");
    // optim.cu
    public static readonly KernelSpec Sgd = new("optim", "sgd_update", "pppfffii");
    // dropout.cu
    public static readonly KernelSpec Dropout = new("dropout", "dropout_forward", "pfuppi");
    // neuron.cu
    public static readonly KernelSpec IfNeuronForward = new("neuron", "if_neuron_forward", "piifiipp");
    public static readonly KernelSpec IfNeuronStep = new("neuron", "if_neuron_step", "pfppi");

    /// <summary>All kernels above.</summary>
    public static IReadOnlyList<KernelSpec> All { get; } = typeof(CudaKernels)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(KernelSpec))
        .Select(f => (KernelSpec)f.GetValue(null)!)
        .ToList();

    /// <summary>The PTX modules the backend needs.</summary>
    public static IReadOnlyList<string> Modules { get; } = All.Select(k => k.Module).Distinct().Order().ToList();

    /// <summary>Folder whose &lt;module&gt;.ptx files replace the embedded ones (to try kernels rebuilt on a GPU machine without rebuilding the engine).</summary>
    public const string PtxOverrideVariable = "SPIKEENGINE_PTX_DIR";

    /// <summary>
    /// The PTX of <paramref name="module"/>: from $SPIKEENGINE_PTX_DIR when set and the file is there, else the
    /// embedded resource kernels/&lt;module&gt;.ptx; null when neither exists (build.cuda.sh had not run before the engine was built).
    /// </summary>
    public static byte[]? EmbeddedPtx(string module) => Resource(module + ".ptx", fromOverrideFolder: true);

    /// <summary>
    /// The cubin of <paramref name="module"/> for compute capability <paramref name="major"/>.<paramref name="minor"/>
    /// (embedded resource kernels/&lt;module&gt;.sm_XY.cubin, built by build.cuda.sh for CUBIN_ARCHS), or null.
    /// A cubin runs only on its own architecture, so there is no nearest-match: the PTX covers the others.
    /// </summary>
    public static byte[]? EmbeddedCubin(string module, int major, int minor) =>
        Resource($"{module}.sm_{major}{minor}.cubin", fromOverrideFolder: false);

    /// <summary>The sm_XY architectures for which every module has an embedded cubin.</summary>
    public static IReadOnlyList<string> CubinArchitectures()
    {
        var names = typeof(CudaKernels).Assembly.GetManifestResourceNames();
        return names.Where(n => n.StartsWith("kernels/", StringComparison.Ordinal) && n.EndsWith(".cubin", StringComparison.Ordinal))
            .Select(n => n.Split('.')[^2])
            .Distinct()
            .Where(sm => Modules.All(m => names.Contains($"kernels/{m}.{sm}.cubin")))
            .Order()
            .ToList();
    }

    private static byte[]? Resource(string fileName, bool fromOverrideFolder)
    {
        var folder = fromOverrideFolder ? Environment.GetEnvironmentVariable(PtxOverrideVariable) : null;
        if (!string.IsNullOrWhiteSpace(folder))
        {
            var file = Path.Combine(folder, fileName);
            if (File.Exists(file)) return File.ReadAllBytes(file);
        }
        using var stream = typeof(CudaKernels).Assembly.GetManifestResourceStream("kernels/" + fileName);
        if (stream is null) return null;
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return ms.ToArray();
    }
}
