using System.Numerics;
using System.Runtime.Intrinsics;
using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

/// <summary>
/// The CPU backend: SIMD C# (Vector512/Vector256 with FMA where present) and Parallel.For.
/// It is also the reference every other backend is tested against. Split by op family over
/// CpuBackend.*.cs files.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    public Device Device => Device.Cpu;

    /// <summary>Threads used by parallel kernels (default: all processors). Set by --threads.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    public string Description =>
        $"cpu ({Threads} threads, {(Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : "no wide SIMD")})";

    internal ParallelOptions ParallelOptions => new() { MaxDegreeOfParallelism = Math.Max(1, Threads) };

    public Tensor Empty(Shape shape) => new(shape, new CpuStorage(shape.Numel, clear: false));
    public Tensor Zeros(Shape shape) => new(shape, new CpuStorage(shape.Numel, clear: true));

    public void CopyFromHost(ReadOnlySpan<float> source, Tensor destination)
    {
        BackendContract.CopyFromHost(Device, source.Length, destination);
        source.CopyTo(destination.Span);
    }

    public void CopyToHost(Tensor source, Span<float> destination)
    {
        BackendContract.CopyToHost(Device, source, destination.Length);
        source.Span[..destination.Length].CopyTo(destination);
    }

    public void Copy(Tensor source, Tensor destination)
    {
        BackendContract.Copy(Device, source, destination);
        source.Span.CopyTo(destination.Span);
    }

    public void Fill(Tensor tensor, float value)
    {
        BackendContract.Fill(Device, tensor);
        tensor.Span.Fill(value);
    }
    public void Synchronize() { }
}
