using System.Buffers.Binary;
using System.Text;

namespace SpikeEngine.IO;

/// <summary>
/// A minimal zip writer for uncompressed (stored) records, laid out like PyTorch's: each record's data starts
/// at a multiple of 64 bytes (padding in an extra field 'FB', as torch.save does, so readers may map storages
/// in place; PyTorch 1.13's torch.load was seen to read unaligned stored archives too, so this is courtesy, not
/// a requirement). Only archives below 4 GiB (no zip64).
/// </summary>
internal sealed class StoredZipWriter(Stream stream)
{
    public const int Alignment = 64;
    private const ushort PaddingFieldId = 0x4246; // "FB"
    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> _entries = [];
    private long _position;

    public void Add(string name, ReadOnlySpan<byte> data)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        long offset = _position;
        long dataStart = offset + 30 + nameBytes.Length;
        int extra = (int)((Alignment - dataStart % Alignment) % Alignment);
        if (extra is > 0 and < 4) extra += Alignment; // an extra field needs at least its 4-byte header
        CheckSize(offset + 30 + nameBytes.Length + extra + data.Length);
        uint crc = Crc32.Compute(data);

        var header = new byte[30 + nameBytes.Length + extra];
        var h = header.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);   // version needed: 2.0
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 0);    // flags
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0);    // stored
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0);   // time
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], 0x21); // date 1980-01-01
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)extra);
        nameBytes.CopyTo(h[30..]);
        if (extra > 0)
        {
            var e = h[(30 + nameBytes.Length)..];
            BinaryPrimitives.WriteUInt16LittleEndian(e, PaddingFieldId);
            BinaryPrimitives.WriteUInt16LittleEndian(e[2..], (ushort)(extra - 4));
            e[4..].Fill((byte)'Z');
        }
        Emit(header);
        Emit(data);
        _entries.Add((nameBytes, crc, (uint)data.Length, (uint)offset));
    }

    public void Finish()
    {
        long directoryStart = _position;
        foreach (var (name, crc, size, offset) in _entries)
        {
            var c = new byte[46 + name.Length];
            var s = c.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(s, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(s[4..], 20);   // made by
            BinaryPrimitives.WriteUInt16LittleEndian(s[6..], 20);   // needed
            BinaryPrimitives.WriteUInt16LittleEndian(s[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(s[14..], 0x21);
            BinaryPrimitives.WriteUInt32LittleEndian(s[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(s[20..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[24..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(s[28..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(s[42..], offset);
            name.CopyTo(s[46..]);
            Emit(c);
        }
        long directorySize = _position - directoryStart;
        CheckSize(_position + 22);
        if (_entries.Count > ushort.MaxValue) throw new NotSupportedException($"A zip of {_entries.Count} records needs zip64, which is not supported.");
        var end = new byte[22];
        var t = end.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(t, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(t[8..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(t[10..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(t[12..], (uint)directorySize);
        BinaryPrimitives.WriteUInt32LittleEndian(t[16..], (uint)directoryStart);
        Emit(end);
    }

    private static void CheckSize(long bytes)
    {
        if (bytes >= uint.MaxValue) throw new NotSupportedException($"A .pth export of {bytes} bytes needs zip64 (over 4 GiB), which is not supported.");
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        _position += bytes.Length;
    }
}

/// <summary>CRC-32 (IEEE 802.3, as zip uses), slicing-by-8.</summary>
internal static class Crc32
{
    private static readonly uint[][] Tables = MakeTables();

    private static uint[][] MakeTables()
    {
        var t = new uint[8][];
        t[0] = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[0][n] = c;
        }
        for (int s = 1; s < 8; s++)
        {
            t[s] = new uint[256];
            for (int n = 0; n < 256; n++) t[s][n] = (t[s - 1][n] >> 8) ^ t[0][t[s - 1][n] & 0xFF];
        }
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        var t = Tables;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data[i..]) ^ crc;
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
            crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24]
                ^ t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
        }
        for (; i < data.Length; i++) crc = t[0][(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}
