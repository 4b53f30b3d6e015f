using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SpikeEngine.Tensors;

namespace SpikeEngine.IO;

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data),
/// readable by the Python `safetensors` package. Tensors are float32 (F32), except keys ending in
/// "num_batches_tracked", which are written as I64 like PyTorch's buffers. Reading converts
/// F16/BF16/F64/I64/I32 to float32. Metadata is the standard "__metadata__" string map.
/// </summary>
public static class SafeTensors
{
    public const string IntegerSuffix = "num_batches_tracked";

    public static bool IsIntegerKey(string key) => key.EndsWith(IntegerSuffix, StringComparison.Ordinal);

    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        => AtomicFile.Write(path, s => Write(s, tensors, metadata));

    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header[MetadataKey] = metadata;
        long offset = 0;
        var order = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        foreach (var key in order)
        {
            var t = tensors[key];
            long bytes = (long)t.Numel * (IsIntegerKey(key) ? 8 : 4);
            header[key] = new Dictionary<string, object>
            {
                ["dtype"] = IsIntegerKey(key) ? "I64" : "F32",
                ["shape"] = t.Shape.ToArray(),
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        stream.Write(len);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var key in order)
        {
            var data = tensors[key].ToArray();
            if (IsIntegerKey(key))
            {
                var buf = new byte[data.Length * 8];
                for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(buf.AsSpan(i * 8), (long)data[i]);
                stream.Write(buf);
            }
            else if (BitConverter.IsLittleEndian) stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            else
            {
                var buf = new byte[data.Length * 4];
                for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(i * 4), data[i]);
                stream.Write(buf);
            }
        }
    }

    /// <summary>A loaded file: tensors (host, float32), metadata, and each tensor's dtype in the file ("F32", "I64", …).</summary>
    public sealed record Contents(Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata)
    {
        public Dictionary<string, string> Dtypes { get; init; } = [];
    }

    public static Contents Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return Parse(bytes, path);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or IndexOutOfRangeException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a valid safetensors file ({e.Message}).", e);
        }
    }

    /// <summary>The "__metadata__" map alone, read from the header without loading the tensors.</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var file = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        int read = file.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        var header = new byte[HeaderLength(prefix[..read], file.Length, path)];
        file.ReadExactly(header);
        try
        {
            using var doc = JsonDocument.Parse(header);
            return doc.RootElement.TryGetProperty(MetadataKey, out var meta) ? MetadataOf(meta) : [];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: not a valid safetensors header ({e.Message}).", e);
        }
    }

    private const string MetadataKey = "__metadata__";

    /// <summary>The header's length from the file's first 8 bytes, checked against the file's size.</summary>
    private static int HeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string path)
    {
        if (prefix.Length < 8) throw new InvalidDataException($"{path}: too short to be a safetensors file ({fileLength} bytes).");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLen > (ulong)(fileLength - 8)) throw new InvalidDataException($"{path}: header length {headerLen} exceeds the file size {fileLength}; the file is truncated or not safetensors.");
        return (int)headerLen;
    }

    private static Dictionary<string, string> MetadataOf(JsonElement metadata)
    {
        var map = new Dictionary<string, string>();
        foreach (var m in metadata.EnumerateObject()) map[m.Name] = m.Value.GetString() ?? "";
        return map;
    }

    private static void Decode(ReadOnlySpan<byte> src, string dtype, Span<float> data)
    {
        switch (dtype)
        {
            case "F32" when BitConverter.IsLittleEndian:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(src).CopyTo(data);
                break;
            case "F32": for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]); break;
            case "I32": for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt32LittleEndian(src[(i * 4)..]); break;
            case "F64": for (int i = 0; i < data.Length; i++) data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(i * 8)..]); break;
            case "I64": for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt64LittleEndian(src[(i * 8)..]); break;
            case "F16": for (int i = 0; i < data.Length; i++) data[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]); break;
            default: for (int i = 0; i < data.Length; i++) data[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..]) << 16); break;
        }
    }

    private static Contents Parse(byte[] bytes, string path)
    {
        int headerLen = HeaderLength(bytes.AsSpan(0, Math.Min(8, bytes.Length)), bytes.Length, path);
        int dataStart = 8 + headerLen;
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, headerLen));
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        var dtypes = new Dictionary<string, string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == MetadataKey)
            {
                metadata = MetadataOf(prop.Value);
                continue;
            }
            var dtype = prop.Value.GetProperty("dtype").GetString();
            var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offs = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var s = new Shape(shape);
            int elem = dtype switch { "F32" or "I32" => 4, "F64" or "I64" => 8, "F16" or "BF16" => 2, _ => throw new InvalidDataException($"{path}: tensor '{prop.Name}' has dtype {dtype}; supported are F32, F16, BF16, F64, I64, I32.") };
            if (offs.Length != 2 || offs[1] - offs[0] != (long)s.Numel * elem || dataStart + offs[1] > bytes.Length || offs[0] < 0)
                throw new InvalidDataException($"{path}: tensor '{prop.Name}' ({dtype} {s}) has data offsets [{string.Join(", ", offs)}] that do not fit its shape or the file ({bytes.Length} bytes).");
            var src = bytes.AsSpan(dataStart + (int)offs[0], (int)(offs[1] - offs[0]));
            var data = new float[s.Numel];
            Decode(src, dtype!, data);
            dtypes[prop.Name] = dtype!;
            tensors[prop.Name] = Tensor.Wrap(data, s);
            tensors[prop.Name].Name = prop.Name;
        }
        return new Contents(tensors, metadata) { Dtypes = dtypes };
    }
}
