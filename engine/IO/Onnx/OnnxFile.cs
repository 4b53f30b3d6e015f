using System.Buffers.Binary;
using Google.Protobuf;
using Onnx;

namespace SpikeEngine.IO.Onnx;

/// <summary>An initialiser or constant: its dimensions and values (floating point as float32, integers as int64).</summary>
internal sealed record OnnxTensor(string Name, long[] Dims, float[]? Floats, long[]? Integers)
{
    public long Count => Dims.Aggregate(1L, (a, d) => a * d);
    public string ShapeText => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>
/// Reading an .onnx file with the protobuf classes generated from onnx.proto (Google.Protobuf): the model, the
/// default-domain opset, and tensor data stored inline (raw_data or typed fields) or in external files beside the
/// model (external_data: location, offset, length). Every failure is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class OnnxFile
{
    public const int MinOpset = 11, MaxOpset = 18;

    public static ModelProto Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"{path}: not a valid ONNX file (protobuf: {e.Message})."); }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new InvalidDataException($"{path}: not an ONNX model (no graph with nodes; {bytes.Length} bytes read).");
        return model;
    }

    /// <summary>The version of the default ONNX operator set ("" or "ai.onnx"), checked to be in [11, 18].</summary>
    public static int Opset(ModelProto model, string path)
    {
        var entry = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")
            ?? throw new InvalidDataException($"{path}: the model imports no default ONNX operator set (opset_import).");
        if (entry.Version < MinOpset || entry.Version > MaxOpset)
            throw new InvalidDataException($"{path}: ONNX opset {entry.Version} is not supported; the importer reads opsets {MinOpset}–{MaxOpset} (re-export with torch.onnx.export(..., opset_version=13), for example).");
        return (int)entry.Version;
    }

    /// <summary>Decodes a tensor; external data is read from <paramref name="folder"/> (the model's folder).</summary>
    public static OnnxTensor Decode(TensorProto t, string folder, string path)
    {
        string name = t.Name;
        var dims = t.Dims.ToArray();
        if (dims.Any(d => d < 0)) throw new InvalidDataException($"{path}: tensor '{name}' has a negative dimension {ShapeOf(dims)}.");
        long count = dims.Aggregate(1L, (a, d) => a * d);
        if (count > int.MaxValue) throw new InvalidDataException($"{path}: tensor '{name}' {ShapeOf(dims)} has too many elements.");
        var type = (TensorProto.Types.DataType)t.DataType;
        int width = type switch
        {
            TensorProto.Types.DataType.Float => 4,
            TensorProto.Types.DataType.Double => 8,
            TensorProto.Types.DataType.Float16 => 2,
            TensorProto.Types.DataType.Int64 => 8,
            TensorProto.Types.DataType.Int32 => 4,
            _ => throw new InvalidDataException($"{path}: tensor '{name}' has data type {type} ({t.DataType}); the importer reads FLOAT, FLOAT16, DOUBLE, INT32 and INT64."),
        };
        ReadOnlySpan<byte> raw = t.DataLocation == TensorProto.Types.DataLocation.External
            ? External(t, folder, path, count * width)
            : t.RawData.Span;
        bool integer = type is TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32;
        if (raw.Length > 0 || t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            if (raw.Length != count * width)
                throw new InvalidDataException($"{path}: tensor '{name}' {ShapeOf(dims)} of {type} needs {count * width} bytes of data but holds {raw.Length}.");
            if (integer)
            {
                var ints = new long[count];
                for (int i = 0; i < count; i++)
                    ints[i] = width == 8 ? BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]) : BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]);
                return new OnnxTensor(name, dims, null, ints);
            }
            var floats = new float[count];
            for (int i = 0; i < count; i++)
                floats[i] = width switch
                {
                    4 => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                    8 => (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                    _ => (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]),
                };
            return new OnnxTensor(name, dims, floats, null);
        }
        // Typed fields: float_data (FLOAT), double_data, int32_data (FLOAT16 bits, INT32), int64_data.
        long found = type switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Count,
            TensorProto.Types.DataType.Double => t.DoubleData.Count,
            TensorProto.Types.DataType.Int64 => t.Int64Data.Count,
            _ => t.Int32Data.Count,
        };
        if (found != count)
            throw new InvalidDataException($"{path}: tensor '{name}' {ShapeOf(dims)} has {count} elements but its data field holds {found}.");
        return type switch
        {
            TensorProto.Types.DataType.Float => new OnnxTensor(name, dims, t.FloatData.ToArray(), null),
            TensorProto.Types.DataType.Double => new OnnxTensor(name, dims, t.DoubleData.Select(v => (float)v).ToArray(), null),
            TensorProto.Types.DataType.Float16 => new OnnxTensor(name, dims, t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(), null),
            TensorProto.Types.DataType.Int64 => new OnnxTensor(name, dims, null, t.Int64Data.ToArray()),
            _ => new OnnxTensor(name, dims, null, t.Int32Data.Select(v => (long)v).ToArray()),
        };
    }

    /// <summary>The bytes of external data: "location" (relative to the model's folder, inside it), "offset", "length".</summary>
    private static byte[] External(TensorProto t, string folder, string path, long expected)
    {
        var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw new InvalidDataException($"{path}: tensor '{t.Name}' is stored externally but names no file (external_data 'location').");
        var file = Path.GetFullPath(Path.Combine(folder, location));
        var root = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (Path.IsPathRooted(location) || !file.StartsWith(root, StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: tensor '{t.Name}' names the external file '{location}', which is not inside the model's folder {folder}.");
        if (!File.Exists(file))
            throw new InvalidDataException($"{path}: tensor '{t.Name}' is stored in the external file {file}, which does not exist (keep the data files beside the .onnx file).");
        long offset = Number(entries, "offset", 0, t.Name, path), length = Number(entries, "length", expected, t.Name, path);
        using var stream = File.OpenRead(file);
        if (offset < 0 || length < 0 || offset + length > stream.Length)
            throw new InvalidDataException($"{path}: tensor '{t.Name}' reads bytes {offset}..{offset + length} of {file}, which has {stream.Length}.");
        var bytes = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static long Number(Dictionary<string, string> entries, string key, long fallback, string tensor, string path)
    {
        if (!entries.TryGetValue(key, out var s)) return fallback;
        return long.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v
            : throw new InvalidDataException($"{path}: tensor '{tensor}': external_data '{key}' is not a number ('{s}').");
    }

    private static string ShapeOf(long[] dims) => "[" + string.Join(", ", dims) + "]";
}
