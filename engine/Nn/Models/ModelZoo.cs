namespace SpikeEngine.Nn.Models;

/// <summary>The model zoo: builds a QCFS network by architecture name.</summary>
public static class ModelZoo
{
    public static readonly IReadOnlyList<string> Architectures =
        [.. ArchitectureCatalog.Vggs.Select(v => v.Arch), .. ArchitectureCatalog.ResNets.Select(r => r.Arch), "cnn"];

    /// <summary>
    /// Builds <paramref name="arch"/> (case-insensitive; "vgg16", "resnet20", "cnn", …) with
    /// <paramref name="classes"/> outputs and QCFS level <paramref name="levels"/>.
    /// </summary>
    public static Module Create(string arch, int classes, int levels, ModelOptions? options = null)
    {
        options ??= new ModelOptions();
        if (classes < 1) throw new ArgumentException($"Model '{arch}': the number of classes must be positive, got {classes}.");
        if (levels < 1) throw new ArgumentException($"Model '{arch}': the QCFS level L must be at least 1, got {levels}.");
        var name = NameKey(arch);
        Module model = name switch
        {
            "cnn" when options.ImageNet => throw new ArgumentException("cnn is a 28×28 network; it has no ImageNet layout."),
            "cnn" => new SmallCnn(classes, levels, options),
            _ when ArchitectureCatalog.FindVgg(name) is { } vgg => new Vgg(vgg, classes, levels, options),
            _ when ArchitectureCatalog.FindResNet(name) is { } resnet => resnet.HasImageNetForm || !options.ImageNet
                ? new ResNet(resnet, classes, levels, options)
                : throw new ArgumentException($"{name} is a CIFAR network; it has no ImageNet layout."),
            _ => throw new ArgumentException($"Unknown architecture '{arch}'. Valid names: {string.Join(", ", Architectures)}."),
        };
        if (!(options.InitialThreshold > 0 && float.IsFinite(options.InitialThreshold)))
            throw new ArgumentException($"Model '{arch}': the initial QCFS threshold must be a positive number, got {options.InitialThreshold}.");
        if (options.Initialize) Initialization.Reference(model, options.Seed, options.InitialThreshold);
        return model;
    }

    /// <summary>
    /// The zoo's spelling of an architecture name ("ResNet-20", "VGG_16" → "resnet20", "vgg16"), or null when the
    /// zoo has no such architecture.
    /// </summary>
    public static string? Canonical(string arch)
    {
        var key = NameKey(arch);
        return Architectures.Contains(key) ? key : null;
    }

    /// <summary>An architecture name without case, spaces, hyphens or underscores (the key <see cref="Canonical"/> looks up).</summary>
    public static string NameKey(string arch) => arch.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "");

    /// <summary>Every QCFS unit of a model, in order (e.g. to set L or read λ).</summary>
    public static IEnumerable<(string Name, Qcfs Unit)> QcfsUnits(Module model) =>
        model.NamedModules().Where(m => m.Module is Qcfs).Select(m => (m.Name, (Qcfs)m.Module));
}
