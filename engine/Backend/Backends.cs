using System.Collections.Concurrent;
using SpikeEngine.Backend.Cpu;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend;

/// <summary>Finds the backend for a device. The CPU backend always exists; CUDA backends register when created.</summary>
public static class Backends
{
    private static readonly ConcurrentDictionary<Device, IBackend> Registered = new();

    public static CpuBackend Cpu { get; } = new();

    public static IBackend For(Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return Cpu;
        if (Registered.TryGetValue(device, out var b)) return b;
        var factory = CudaFactory ?? throw new InvalidOperationException($"Device {device} is not available: this build has no CUDA backend.");
        return Registered.GetOrAdd(device, d => factory(d));
    }

    /// <summary>Set by the CUDA backend: creates a backend for a device or throws an exception that says why it cannot.</summary>
    public static Func<Device, IBackend>? CudaFactory { get; set; } = Cuda.CudaBackend.Create;
}
