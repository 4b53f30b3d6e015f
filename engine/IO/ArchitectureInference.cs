using System.Text.RegularExpressions;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;

namespace SpikeEngine.IO;

/// <summary>
/// An architecture recognised from state_dict key names and shapes (METHOD.md §8), with every shape choice the
/// tensors fix: classes, input channels, widths, VGG classifier input and hidden width, ResNet stem.
/// <see cref="Detail"/> names what differs from the reference network for that class count.
/// </summary>
public sealed record InferredArchitecture(string Arch, int? Classes, string? Detail)
{
    public int? InputChannels { get; init; }
    /// <summary>VGG: one per block; ResNet: one per stage.</summary>
    public int[]? Widths { get; init; }
    /// <summary>Whether <see cref="Widths"/> (and a ResNet's stem width) are the reference's.</summary>
    public bool StandardWidths { get; init; } = true;
    public ResNetStem? Stem { get; init; }
    public int? ClassifierInput { get; init; }
    public int? Hidden { get; init; }

    /// <summary><paramref name="options"/> with the shape choices found in the tensors (those not found are left as they are).</summary>
    public ModelOptions ApplyTo(ModelOptions options) => options with
    {
        InputChannels = InputChannels ?? options.InputChannels,
        Widths = StandardWidths ? options.Widths : Widths,
        Stem = Stem ?? options.Stem,
        ClassifierInput = ClassifierInput ?? options.ClassifierInput,
        Hidden = Hidden ?? options.Hidden,
    };

    public override string ToString() => Detail is null ? Arch : $"{Arch} ({Detail})";
}

/// <summary>
/// Recognises the zoo's VGG-11/13/16/19 and ResNet-18/20/34 (<see cref="ArchitectureCatalog"/>) from their
/// parameter names and shapes, and builds the model a checkpoint holds.
/// </summary>
public static partial class ArchitectureInference
{
    [GeneratedRegex(@"^layer([1-9])\.(\d+)\.weight$")]
    private static partial Regex VggConvKey();

    [GeneratedRegex(@"^classifier\.(\d+)\.weight$")]
    private static partial Regex ClassifierKey();

    [GeneratedRegex(@"^conv(\d+)_x\.(\d+)\.residual_function\.0\.weight$")]
    private static partial Regex ResNetBlockKey();

    private static readonly string ResNetStemKey = ArchitectureCatalog.ResNetStemName + ".0.weight";
    private static readonly string ResNetFcKey = ArchitectureCatalog.ResNetFc + ".weight";

    /// <summary>The architecture these keys and shapes belong to, or null when they match none of the known ones.</summary>
    public static InferredArchitecture? Infer(IReadOnlyDictionary<string, Shape> shapes)
    {
        if (shapes.ContainsKey(ResNetStemKey) && shapes.TryGetValue(ResNetFcKey, out var fc)) return InferResNet(shapes, fc);
        if (shapes.Keys.Any(k => k.StartsWith(ArchitectureCatalog.VggBlock(0) + ".", StringComparison.Ordinal))
            && shapes.Keys.Any(k => k.StartsWith(ArchitectureCatalog.VggClassifier + ".", StringComparison.Ordinal)))
            return InferVgg(shapes);
        return null;
    }

    public static InferredArchitecture? Infer(IReadOnlyDictionary<string, Tensor> tensors)
        => Infer(tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Shape));

    /// <summary>
    /// The model that <paramref name="tensors"/> (a state_dict) belong to, built uninitialised with their shape
    /// choices (stem, classifier input, widths, classes, input channels), ready for <see cref="Module.LoadStateDict"/>.
    /// <paramref name="arch"/> (e.g. --net_arch) and <paramref name="classes"/> (e.g. the data set's), when given,
    /// must agree with the tensors. Throws, naming <paramref name="source"/>, when the tensors match no known
    /// architecture.
    /// </summary>
    public static Module CreateModel(IReadOnlyDictionary<string, Tensor> tensors, int levels, string source,
        ModelOptions? options = null, string? arch = null, int? classes = null)
    {
        var found = Infer(tensors)
            ?? throw new InvalidDataException($"{source}: its tensors match none of the known architectures ({string.Join(", ", ModelZoo.Architectures.Where(a => a != "cnn"))}).");
        if (arch is not null && !string.Equals(ModelZoo.NameKey(arch), found.Arch, StringComparison.Ordinal))
            throw new InvalidDataException($"{source}: its keys look like {found} but the model (--net_arch) is {arch}.");
        if (classes is int c && found.Classes is int f && c != f)
            throw new InvalidDataException($"{source}: it has {f} output classes but {c} were asked for.");
        int outputs = found.Classes ?? classes ?? throw new InvalidDataException($"{source}: the number of classes cannot be read from its tensors; pass it.");
        return ModelZoo.Create(found.Arch, outputs, levels, found.ApplyTo((options ?? new ModelOptions()) with { Initialize = false, ImageNet = false }));
    }

    /// <summary>
    /// <paramref name="options"/> with the shape choices of <paramref name="tensors"/> when they are recognised as
    /// <paramref name="arch"/> (else unchanged): for a loader that already knows the architecture, classes and L, e.g.
    /// <c>ModelZoo.Create(arch, classes, levels, ArchitectureInference.ShapeOptions(checkpoint.Tensors, arch, options))</c>.
    /// </summary>
    public static ModelOptions ShapeOptions(IReadOnlyDictionary<string, Tensor> tensors, string arch, ModelOptions options)
    {
        var found = Infer(tensors);
        return found is not null && found.Arch == ModelZoo.NameKey(arch) ? found.ApplyTo(options) : options;
    }


    private static InferredArchitecture? InferVgg(IReadOnlyDictionary<string, Shape> shapes)
    {
        int blocks = ArchitectureCatalog.Vggs[0].Blocks.Length;
        var counts = new int[blocks];
        var widths = new int[blocks];
        int? inputChannels = null;
        foreach (var (key, shape) in shapes)
        {
            var m = VggConvKey().Match(key);
            if (!m.Success || shape.Rank != 4) continue;
            int block = int.Parse(m.Groups[1].Value) - 1;
            if (block >= blocks) return null;
            counts[block]++;
            widths[block] = shape[0];
            if (block == 0 && m.Groups[2].Value == "0") inputChannels = shape[1];
        }
        var layout = ArchitectureCatalog.Vggs.FirstOrDefault(v => v.ConvsPerBlock.SequenceEqual(counts));
        if (layout is null) return null;
        var linears = shapes.Where(kv => ClassifierKey().IsMatch(kv.Key) && kv.Value.Rank == 2)
            .OrderBy(kv => int.Parse(ClassifierKey().Match(kv.Key).Groups[1].Value)).ToList();
        int? classes = linears.Count == 0 ? null : linears[^1].Value[0];
        int? classifierInput = linears.Count == 0 ? null : linears[0].Value[1];
        int? hidden = linears.Count == 0 ? null : linears[0].Value[0];
        var details = new List<string>();
        bool standardWidths = widths.SequenceEqual(layout.BlockWidths);
        if (!standardWidths) details.Add($"non-standard widths {string.Join("/", widths)}");
        if (hidden is int h && h != VggLayout.Hidden) details.Add($"classifier width {h}");
        if (classifierInput is int input && classes is int k && input != VggLayout.ReferenceClassifierInput(widths[^1], k))
            details.Add(input == widths[^1] * 49 ? "ImageNet classifier (512·7·7)" : $"classifier input {input}");
        return new InferredArchitecture(layout.Arch, classes, details.Count == 0 ? null : string.Join(", ", details))
        {
            InputChannels = inputChannels, Widths = widths, StandardWidths = standardWidths,
            ClassifierInput = classifierInput, Hidden = hidden,
        };
    }

    private static InferredArchitecture? InferResNet(IReadOnlyDictionary<string, Shape> shapes, Shape fc)
    {
        var blocks = new SortedDictionary<int, int>();
        var widths = new SortedDictionary<int, int>();
        foreach (var (key, shape) in shapes)
        {
            var m = ResNetBlockKey().Match(key);
            if (!m.Success) continue;
            int stage = int.Parse(m.Groups[1].Value), block = int.Parse(m.Groups[2].Value);
            blocks[stage] = Math.Max(blocks.GetValueOrDefault(stage), block + 1);
            widths[stage] = shape[0];
        }
        if (blocks.Count == 0 || blocks.Keys.First() != 2 || blocks.Keys.Last() != 1 + blocks.Count) return null;
        var b = blocks.Values.ToArray();
        var w = widths.Values.ToArray();
        var layout = ArchitectureCatalog.ResNets.FirstOrDefault(r => r.Blocks.SequenceEqual(b));
        if (layout is null) return null;
        var stem = shapes[ResNetStemKey];
        var details = new List<string>();
        bool standardWidths = layout.Widths.SequenceEqual(w) && stem.Rank == 4 && stem[0] == layout.StemChannels;
        if (!layout.Widths.SequenceEqual(w)) details.Add($"non-standard widths {string.Join("/", w)}");
        if (stem.Rank == 4 && stem[0] != w[0]) details.Add($"stem of {stem[0]} channels");
        ResNetStem? kind = stem.Rank != 4 ? null
            : stem[2] == ArchitectureCatalog.TorchvisionStemKernel ? ResNetStem.Torchvision
            : stem[2] == 3 ? ResNetStem.Reference : null;
        if (kind == ResNetStem.Torchvision) details.Add("torchvision-style 7×7 stem");
        else if (kind is null && stem.Rank == 4) details.Add($"unknown {stem[2]}×{stem[3]} stem");
        return new InferredArchitecture(layout.Arch, fc.Rank == 2 ? fc[0] : null, details.Count == 0 ? null : string.Join(", ", details))
        {
            InputChannels = stem.Rank == 4 ? stem[1] : null, Widths = w, StandardWidths = standardWidths, Stem = kind,
        };
    }
}
