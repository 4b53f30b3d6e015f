using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SpikeEngine.IO;

/// <summary>NumPy .npy arrays (C order, little-endian f4/f8/i4/i8), read as float32; written as float32 (format 1.0).</summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'.*'fortran_order'\s*:\s*(True|False).*'shape'\s*:\s*\(([^)]*)\)", RegexOptions.Singleline)]
    private static partial Regex HeaderPattern();

    public static (float[] Data, int[] Shape) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a .npy file (no \\x93NUMPY magic).");
        int major = bytes[6];
        int headerLen = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        int start = major == 1 ? 10 : 12;
        if (start + headerLen > bytes.Length) throw new InvalidDataException($"{path}: .npy header is truncated.");
        var header = Encoding.Latin1.GetString(bytes, start, headerLen);
        var m = HeaderPattern().Match(header);
        if (!m.Success) throw new InvalidDataException($"{path}: cannot parse the .npy header {header.Trim()}.");
        var descr = m.Groups[1].Value;
        if (m.Groups[2].Value == "True") throw new InvalidDataException($"{path}: Fortran-order arrays are not supported.");
        var shape = m.Groups[3].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        long numel = shape.Aggregate(1L, (a, d) => a * d);
        int elem = descr switch { "<f4" or "<i4" => 4, "<f8" or "<i8" => 8, _ => throw new InvalidDataException($"{path}: dtype '{descr}' is not supported (little-endian f4, f8, i4, i8).") };
        int dataStart = start + headerLen;
        if (dataStart + numel * elem != bytes.Length) throw new InvalidDataException($"{path}: holds {bytes.Length - dataStart} data bytes, shape ({string.Join(", ", shape)}) of {descr} needs {numel * elem}.");
        var data = new float[numel];
        var src = bytes.AsSpan(dataStart);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = descr switch
            {
                "<f4" => BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]),
                "<i4" => BinaryPrimitives.ReadInt32LittleEndian(src[(i * 4)..]),
                "<f8" => (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(i * 8)..]),
                _ => BinaryPrimitives.ReadInt64LittleEndian(src[(i * 8)..]),
            };
        }
        return (data, shape);
    }

    public static void Write(string path, ReadOnlySpan<float> data, int[] shape)
    {
        if (shape.Aggregate(1L, (a, d) => a * d) != data.Length) throw new ArgumentException($"{data.Length} values do not fill shape ({string.Join(", ", shape)}).");
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var bytes = new byte[10 + header.Length + data.Length * 4];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.Latin1.GetBytes(header, bytes.AsSpan(10));
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(10 + header.Length + i * 4), data[i]);
        var copy = bytes;
        AtomicFile.Write(path, s => s.Write(copy));
    }
}
