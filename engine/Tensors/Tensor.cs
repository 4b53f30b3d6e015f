using SpikeEngine.Autograd;
using SpikeEngine.Backend;

namespace SpikeEngine.Tensors;

/// <summary>
/// A float32 tensor (NCHW by convention) on one device. Storage comes from the device's backend;
/// host tensors expose <see cref="Span"/>. Autograd state (requires-grad, gradient, creator node)
/// lives here too, as in micrograd. Dispose returns the buffer to the pool.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly bool _ownsStorage;

    public Tensor(Shape shape, TensorStorage storage, bool ownsStorage = true)
    {
        if (storage.Length < shape.Numel)
            throw new ArgumentException($"Storage of {storage.Length} floats is too small for shape {shape} ({shape.Numel} floats).");
        Shape = shape;
        Storage = storage;
        _ownsStorage = ownsStorage;
    }

    public Shape Shape { get; }
    public TensorStorage Storage { get; }
    public Device Device => Storage.Device;
    public IBackend Backend => Backends.For(Device);
    public int Numel => Shape.Numel;
    public int Rank => Shape.Rank;
    /// <summary>Optional name used in error messages (e.g. the parameter's state_dict key).</summary>
    public string? Name { get; set; }

    // ---- autograd ----
    public bool RequiresGrad { get; set; }
    public Tensor? Grad { get; set; }
    /// <summary>The recorded operation that produced this tensor, when autograd is on.</summary>
    public GradNode? GradFn { get; internal set; }
    public bool IsLeaf => GradFn is null;

    // ---- creation ----
    public static Tensor Empty(Shape shape, Device? device = null) => Backends.For(device ?? Device.Cpu).Empty(shape);
    public static Tensor Zeros(Shape shape, Device? device = null) => Backends.For(device ?? Device.Cpu).Zeros(shape);

    public static Tensor Full(Shape shape, float value, Device? device = null)
    {
        var t = Empty(shape, device);
        t.Backend.Fill(t, value);
        return t;
    }

    /// <summary>Copies host data into a new tensor on <paramref name="device"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, Shape shape, Device? device = null)
    {
        if (data.Length != shape.Numel)
            throw new ArgumentException($"{data.Length} values given for shape {shape} ({shape.Numel} expected).");
        var t = Empty(shape, device);
        t.Backend.CopyFromHost(data, t);
        return t;
    }

    /// <summary>Wraps a host array without copying (the array is not returned to the pool).</summary>
    public static Tensor Wrap(float[] data, Shape shape) => new(shape, new CpuStorage(data));

    // ---- access ----
    /// <summary>The elements of a host tensor. Throws for device tensors: use <see cref="ToArray"/>.</summary>
    public Span<float> Span
    {
        get
        {
            if (Storage is CpuStorage cpu) return cpu.Data.AsSpan(0, Numel);
            throw new InvalidOperationException($"Tensor{(Name is null ? "" : " '" + Name + "'")} {Shape} lives on {Device}; copy it to the host first (ToArray or To(Device.Cpu)).");
        }
    }

    public float[] ToArray()
    {
        var result = new float[Numel];
        Backend.CopyToHost(this, result);
        return result;
    }

    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a one-element tensor; this one has shape {Shape}.");
        return ToArray()[0];
    }

    /// <summary>A copy on <paramref name="device"/> (this tensor when it is already there).</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return this;
        var host = Device == Device.Cpu ? Span.ToArray() : ToArray();
        return FromArray(host, Shape, device);
    }

    public Tensor Clone()
    {
        var t = Backend.Empty(Shape);
        Backend.Copy(this, t);
        return t;
    }

    /// <summary>A view with another shape over the same storage (no copy). Does not record autograd; see Functional.Reshape.</summary>
    public Tensor View(Shape shape)
    {
        if (shape.Numel != Numel) throw new ArgumentException($"Cannot view tensor of shape {Shape} as {shape}: element counts differ ({Numel} vs {shape.Numel}).");
        return new Tensor(shape, Storage, ownsStorage: false) { Name = Name };
    }

    /// <summary>Throws a clear error unless the shape equals <paramref name="expected"/>.</summary>
    public void CheckShape(Shape expected, string what)
    {
        if (Shape != expected) throw new ArgumentException($"{what}: expected shape {expected}, got {Shape}.");
    }

    public bool IsDisposed => Storage is CpuStorage c && c.IsDisposed;

    public void Dispose()
    {
        if (_ownsStorage) Storage.Dispose();
    }

    public override string ToString() => $"Tensor{(Name is null ? "" : " " + Name)} {Shape} on {Device}";
}
