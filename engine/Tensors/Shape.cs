namespace SpikeEngine.Tensors;

/// <summary>An immutable tensor shape (NCHW by convention).</summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"Shape {Format(dims)} has a negative dimension.");
        _dims = (int[])dims.Clone();
        long n = 1;
        foreach (var d in _dims) n *= d;
        if (n > int.MaxValue) throw new ArgumentException($"Shape {Format(dims)} has {n} elements; at most {int.MaxValue} are supported.");
        Numel = (int)n;
    }

    public int Rank => _dims.Length;
    public int Numel { get; }
    public int this[int axis] => _dims[axis < 0 ? axis + _dims.Length : axis];
    public ReadOnlySpan<int> Dims => _dims;
    public int[] ToArray() => (int[])_dims.Clone();

    /// <summary>Product of the dimensions from <paramref name="axis"/> on (e.g. C·H·W for axis 1).</summary>
    public int SizeFrom(int axis)
    {
        int n = 1;
        for (int i = axis; i < _dims.Length; i++) n *= _dims[i];
        return n;
    }

    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in _dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    public override string ToString() => Format(_dims);
    private static string Format(int[] dims) => "[" + string.Join(", ", dims) + "]";

    public static implicit operator Shape(int[] dims) => new(dims);
}
