namespace SpikeEngine.Tensors;

public enum DeviceKind { Cpu, Cuda }

/// <summary>Where a tensor's storage lives: "cpu" or "cuda:N".</summary>
public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    public static readonly Device Cpu = new(DeviceKind.Cpu);
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";

    /// <summary>Parses "cpu", "cuda" or "cuda:N" (the spelling of the --device option).</summary>
    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda" || t == "gpu") return Cuda(0);
        if (t.StartsWith("cuda:") && int.TryParse(t.AsSpan(5), out var i) && i >= 0) return Cuda(i);
        throw new ArgumentException($"Unknown device '{text}': expected cpu, cuda or cuda:N.");
    }
}
