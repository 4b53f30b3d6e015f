namespace SpikeEngine.Cuda;

/// <summary>
/// One kernel parameter, held in 8 bytes with a kind letter so a launch can check the arguments
/// against the kernel's declared signature: 'p' device pointer (.u64), 'i' int (.u32),
/// 'f' float (.f32), 'u' unsigned long long (.u64). The implicit conversions pick the kind from
/// the C# type, so passing 1 where a float is declared is caught (write 1f).
/// </summary>
public readonly struct KernelArg
{
    public readonly ulong Bits;
    public readonly char Kind;

    private KernelArg(ulong bits, char kind) { Bits = bits; Kind = kind; }

    public static KernelArg Pointer(ulong devicePointer) => new(devicePointer, 'p');
    public static readonly KernelArg NullPointer = new(0, 'p');

    public static implicit operator KernelArg(int value) => new((uint)value, 'i');
    public static implicit operator KernelArg(float value) => new(BitConverter.SingleToUInt32Bits(value), 'f');
    public static implicit operator KernelArg(ulong value) => new(value, 'u');
    public static implicit operator KernelArg(DevicePointer pointer) => new(pointer.Address, 'p');

    public override string ToString() => $"{Kind}:{Bits:X}";
}

/// <summary>A CUdeviceptr (an address in device memory).</summary>
public readonly record struct DevicePointer(ulong Address)
{
    public static readonly DevicePointer Null = new(0);
    /// <summary>The address <paramref name="floats"/> float32 elements further on.</summary>
    public DevicePointer Floats(long floats) => new(Address + (ulong)(floats * sizeof(float)));
    public override string ToString() => $"0x{Address:X}";
}

/// <summary>A kernel's name, the PTX file (kernels/&lt;module&gt;.ptx) that defines it, and its parameter kinds (see <see cref="KernelArg"/>).</summary>
public sealed record KernelSpec(string Module, string Name, string Signature)
{
    /// <summary>Throws unless the arguments match the declared signature in number and kind.</summary>
    public void CheckArguments(ReadOnlySpan<KernelArg> args)
    {
        bool ok = args.Length == Signature.Length;
        for (int i = 0; ok && i < args.Length; i++) ok = args[i].Kind == Signature[i];
        if (!ok)
        {
            var given = new char[args.Length];
            for (int i = 0; i < args.Length; i++) given[i] = args[i].Kind;
            throw new ArgumentException($"Kernel {Name} takes ({Signature}) but was launched with ({new string(given)}).");
        }
    }
}
