using System.Text.RegularExpressions;
using SpikeEngine.Tensors;

namespace SpikeEngine.IO;

/// <summary>An architecture recognised from state_dict key names and shapes (cos.md §8).</summary>
public sealed record InferredArchitecture(string Arch, int? Classes, string? Detail)
{
    public override string ToString() => Detail is null ? Arch : $"{Arch} ({Detail})";
}

/// <summary>Recognises the reference VGG-11/13/16/19 and ResNet-18/20/34 from their parameter names and shapes.</summary>
public static partial class ArchitectureInference
{
    private static readonly Dictionary<string, int[]> VggConvs = new()
    {
        ["vgg11"] = [1, 1, 2, 2, 2], ["vgg13"] = [2, 2, 2, 2, 2], ["vgg16"] = [2, 2, 3, 3, 3], ["vgg19"] = [2, 2, 4, 4, 4],
    };
    private static readonly int[] VggWidths = [64, 128, 256, 512, 512];

    private static readonly Dictionary<string, (int[] Blocks, int[] Widths)> ResNets = new()
    {
        ["resnet20"] = ([3, 3, 3], [16, 32, 64]),
        ["resnet18"] = ([2, 2, 2, 2], [64, 128, 256, 512]),
        ["resnet34"] = ([3, 4, 6, 3], [64, 128, 256, 512]),
    };

    [GeneratedRegex(@"^layer([1-9])\.(\d+)\.weight$")]
    private static partial Regex VggConvKey();

    [GeneratedRegex(@"^classifier\.(\d+)\.weight$")]
    private static partial Regex ClassifierKey();

    [GeneratedRegex(@"^conv(\d+)_x\.(\d+)\.residual_function\.0\.weight$")]
    private static partial Regex ResNetBlockKey();

    /// <summary>The architecture these keys and shapes belong to, or null when they match none of the known ones.</summary>
    public static InferredArchitecture? Infer(IReadOnlyDictionary<string, Shape> shapes)
    {
        if (shapes.ContainsKey("conv1.0.weight") && shapes.TryGetValue("fc.weight", out var fc)) return InferResNet(shapes, fc);
        if (shapes.Keys.Any(k => k.StartsWith("layer1.", StringComparison.Ordinal)) && shapes.Keys.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
            return InferVgg(shapes);
        return null;
    }

    public static InferredArchitecture? Infer(IReadOnlyDictionary<string, Tensor> tensors)
        => Infer(tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Shape));

    private static InferredArchitecture? InferVgg(IReadOnlyDictionary<string, Shape> shapes)
    {
        var counts = new int[5];
        var firstWidth = new int[5];
        foreach (var (key, shape) in shapes)
        {
            var m = VggConvKey().Match(key);
            if (!m.Success || shape.Rank != 4) continue;
            int block = int.Parse(m.Groups[1].Value) - 1;
            if (block >= 5) return null;
            counts[block]++;
            firstWidth[block] = shape[0];
        }
        var arch = VggConvs.FirstOrDefault(kv => kv.Value.SequenceEqual(counts)).Key;
        if (arch is null) return null;
        var last = shapes.Where(kv => ClassifierKey().IsMatch(kv.Key) && kv.Value.Rank == 2)
            .OrderBy(kv => int.Parse(ClassifierKey().Match(kv.Key).Groups[1].Value)).LastOrDefault();
        int? classes = last.Key is null ? null : last.Value[0];
        string? detail = firstWidth.SequenceEqual(VggWidths) ? null : $"non-standard widths {string.Join("/", firstWidth)}";
        if (shapes.TryGetValue("classifier.1.weight", out var fc1) && fc1.Rank == 2 && fc1[1] == firstWidth[4] * 49)
            detail = detail is null ? "ImageNet classifier" : detail + ", ImageNet classifier";
        return new InferredArchitecture(arch, classes, detail);
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
        var arch = ResNets.FirstOrDefault(kv => kv.Value.Blocks.SequenceEqual(b)).Key;
        if (arch is null) return null;
        var details = new List<string>();
        if (!ResNets[arch].Widths.SequenceEqual(w)) details.Add($"non-standard widths {string.Join("/", w)}");
        if (shapes.TryGetValue("conv1.0.weight", out var stem) && stem.Rank == 4 && stem[2] == 7) details.Add("ImageNet stem");
        return new InferredArchitecture(arch, fc.Rank == 2 ? fc[0] : null, details.Count == 0 ? null : string.Join(", ", details));
    }
}
