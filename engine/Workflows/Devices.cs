using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Workflows;

public static class Devices
{
    /// <summary>
    /// Sets the CPU kernels' thread count (null: leave it) and checks that <paramref name="device"/> can be used
    /// (for CUDA: the driver, a device and the kernels load), so a missing GPU is reported before any work.
    /// </summary>
    public static void Select(Device device, int? cpuThreads = null)
    {
        if (cpuThreads is int n)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(cpuThreads), n, "CPU threads must be at least 1.");
            Backends.Cpu.Threads = n;
        }
        if (device.Kind == DeviceKind.Cpu) return;
        try { Backends.For(device); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"device {device} is not available: {e.Message.TrimEnd('.')}", e);
        }
    }
}
