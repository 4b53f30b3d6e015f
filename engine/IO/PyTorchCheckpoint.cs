using System.Collections;
using System.IO.Compression;
using System.Text;
using SpikeEngine.Tensors;

namespace SpikeEngine.IO;

/// <summary>
/// PyTorch checkpoints in the zip format that torch.save writes since 1.6 (<c>&lt;name&gt;/data.pkl</c>, raw
/// storages in <c>&lt;name&gt;/data/&lt;key&gt;</c>, <c>&lt;name&gt;/version</c>): reading a state_dict (bare, or under
/// 'state_dict' / 'model' / 'net'; DataParallel 'module.' prefixes stripped) and writing one that torch.load reads.
/// </summary>
public static class PyTorchCheckpoint
{
    /// <summary>Keys under which training scripts commonly nest the state_dict, in the order they are tried.</summary>
    public static readonly string[] ContainerKeys = ["state_dict", "model", "net"];

    public const string DataParallelPrefix = "module.";

    /// <summary>A state_dict read from a .pth file: float32 host tensors in file order, where it was found, and notes
    /// about conversions (e.g. float16 → float32).</summary>
    public sealed record Contents(Dictionary<string, Tensor> Tensors, Dictionary<string, TorchDtype> Dtypes, string? Container, IReadOnlyList<string> Notes);

    /// <summary>True when the bytes start like a zip archive (torch.save ≥ 1.6).</summary>
    public static bool LooksLikeZip(ReadOnlySpan<byte> head) => head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;

    /// <summary>The unpickled object graph of a .pth file: tensors as <see cref="TorchTensor"/>, dicts as Hashtables
    /// (<see cref="OrderedHashtable"/> for OrderedDicts), tuples as object[].</summary>
    public static object ReadObject(string path, out List<string> notes)
    {
        notes = [];
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch checkpoint not found: {path}", path);
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[512];
        int n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (!LooksLikeZip(head)) throw new InvalidDataException($"{path}: {DescribeNonZip(head)}");
        file.Position = 0;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: the zip archive is damaged or truncated ({e.Message}); the file may not have been copied completely.", e);
        }
        using (zip)
        {
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw new InvalidDataException($"{path}: a zip archive without '<name>/data.pkl'; not a torch.save checkpoint (entries: {string.Join(", ", zip.Entries.Take(5).Select(e => e.FullName))}).");
            var prefix = pkl.FullName[..^"data.pkl".Length];
            var byteOrder = zip.GetEntry(prefix + "byteorder");
            if (byteOrder is not null)
            {
                var order = Encoding.ASCII.GetString(ReadEntry(byteOrder, path)).Trim();
                if (order != "little") throw new InvalidDataException($"{path}: storages are stored in '{order}' byte order; only little-endian files are supported.");
            }
            var version = zip.GetEntry(prefix + "version");
            if (version is null) notes.Add($"the archive has no '{prefix}version' record");
            var unpickler = new TorchUnpickler(zip, prefix, path);
            return unpickler.Load(ReadEntry(pkl, path));
        }
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, string path)
    {
        try
        {
            var bytes = new byte[entry.Length];
            using var s = entry.Open();
            s.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new InvalidDataException($"{path}: cannot read zip record '{entry.FullName}' ({e.Message}); the file may be damaged or truncated.", e);
        }
    }

    private static string DescribeNonZip(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return "the file is empty.";
        if (head.Length >= 262 && Encoding.ASCII.GetString(head.Slice(257, 5)) == "ustar")
            return "a tar archive: the legacy PyTorch (< 0.4) checkpoint format is not supported. Re-save it with PyTorch ≥ 1.6: torch.save(torch.load(old), new).";
        if (head[0] == 0x80 && head.Length >= 2 && head[1] <= 5)
            return "a raw pickle: the legacy (pre-1.6) torch.save format, or a plain pickle, is not supported. Re-save it with PyTorch ≥ 1.6: torch.save(torch.load(old), new).";
        var hex = Convert.ToHexString(head[..Math.Min(8, head.Length)]);
        return $"not a PyTorch checkpoint: a .pth file written by torch.save is a zip archive starting with 504B0304, this file starts with {hex}.";
    }

    /// <summary>Reads the state_dict of a .pth file as float32 host tensors.</summary>
    public static Contents Load(string path)
    {
        var root = ReadObject(path, out var notes);
        if (root is not IDictionary top)
            throw new InvalidDataException($"{path}: the checkpoint holds {TorchUnpickler.Describe(root)}, expected a state_dict (a dict of tensors).");
        IDictionary state = top;
        string? container = null;
        foreach (var key in ContainerKeys)
        {
            if (top.Contains(key) && top[key] is IDictionary inner)
            {
                state = inner;
                container = key;
                break;
            }
        }
        if (container is null && top.Count > 0 && !Keys(top).Any(k => top[k] is TorchTensor))
        {
            var found = string.Join(", ", Keys(top).Take(10).Select(k => $"'{k}'"));
            throw new InvalidDataException($"{path}: no state_dict found: the top-level dict holds no tensors and none of the keys {string.Join(", ", ContainerKeys.Select(k => $"'{k}'"))} (keys: {found}).");
        }
        if (container is not null) notes.Add($"state_dict read from the '{container}' entry of the checkpoint");

        var tensors = new Dictionary<string, Tensor>();
        var dtypes = new Dictionary<string, TorchDtype>();
        var converted = new Dictionary<TorchDtype, int>();
        int stripped = 0;
        foreach (var keyObj in FileOrder(state))
        {
            if (keyObj is not string key)
                throw new InvalidDataException($"{path}: the state_dict has a key that is {TorchUnpickler.Describe(keyObj)}, expected a string.");
            var value = state[keyObj];
            if (value is not TorchTensor t)
                throw new InvalidDataException($"{path}: state_dict entry '{key}' is {TorchUnpickler.Describe(value)}, expected a tensor.");
            if (!t.IsFloatingPoint && !SafeTensors.IsIntegerKey(key))
                throw new InvalidDataException($"{path}: state_dict entry '{key}' is a {t.Dtype} tensor; weights must be floating point (integer tensors are accepted only for '*.{SafeTensors.IntegerSuffix}').");
            var name = key;
            if (name.StartsWith(DataParallelPrefix, StringComparison.Ordinal))
            {
                name = name[DataParallelPrefix.Length..];
                stripped++;
            }
            if (tensors.ContainsKey(name))
                throw new InvalidDataException($"{path}: the state_dict holds '{name}' twice (with and without the '{DataParallelPrefix}' prefix).");
            var tensor = Tensor.Wrap(t.Values, new Shape(t.Shape));
            tensor.Name = name;
            tensors[name] = tensor;
            dtypes[name] = t.Dtype;
            if (t.Dtype is TorchDtype.Float64 or TorchDtype.Float16 or TorchDtype.BFloat16)
                converted[t.Dtype] = converted.GetValueOrDefault(t.Dtype) + 1;
        }
        if (stripped > 0) notes.Add($"stripped the DataParallel prefix '{DataParallelPrefix}' from {stripped} keys");
        foreach (var (dtype, count) in converted)
            notes.Add($"converted {count} {dtype} tensor{(count == 1 ? "" : "s")} to Float32{(dtype == TorchDtype.Float64 ? " (precision reduced)" : "")}");
        return new Contents(tensors, dtypes, container, notes);
    }

    private static IEnumerable<object> Keys(IDictionary d) => d is OrderedHashtable o ? o.OrderedKeys : d.Keys.Cast<object>();

    /// <summary>
    /// The state_dict's keys in the order torch.save wrote them. The unpickler does not keep it (it inserts each
    /// SETITEMS batch in reverse), but torch.save numbers storages "0", "1", … as it meets them, so ordering the
    /// entries by their (first) storage number restores the file order.
    /// </summary>
    private static IEnumerable<object> FileOrder(IDictionary d)
    {
        var keys = Keys(d).ToList();
        var numbers = keys.Select(k => d[k] is TorchTensor t && long.TryParse(t.StorageKey, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : (long?)null).ToList();
        if (numbers.Any(n => n is null)) return keys;
        return keys.Select((k, i) => (Key: k, Number: numbers[i]!.Value, Index: i)).OrderBy(e => e.Number).ThenByDescending(e => e.Index).Select(e => e.Key);
    }

    // ---------------------------------------------------------------------------------------------
    // Writing
    // ---------------------------------------------------------------------------------------------

    /// <summary>Saves tensors as a state_dict .pth (an OrderedDict, float32; '*.num_batches_tracked' as int64) that
    /// torch.load reads. Written atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, string archiveName = "archive")
        => AtomicFile.Write(path, s => Write(s, tensors, archiveName));

    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, string archiveName = "archive")
    {
        if (archiveName.Length == 0 || archiveName.Contains('/')) throw new ArgumentException($"Archive name '{archiveName}' must be a non-empty name without '/'.");
        var records = new List<(string Key, TorchDtype Dtype, int[] Shape, float[] Values)>();
        foreach (var (key, tensor) in tensors)
            records.Add((key, SafeTensors.IsIntegerKey(key) ? TorchDtype.Int64 : TorchDtype.Float32, tensor.Shape.ToArray(), tensor.ToArray()));

        var zip = new StoredZipWriter(stream);
        zip.Add($"{archiveName}/data.pkl", TorchPickleWriter.StateDict(records.Select((r, i) => (r.Key, r.Dtype, i.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Shape))));
        zip.Add($"{archiveName}/byteorder", "little"u8.ToArray());
        for (int i = 0; i < records.Count; i++)
        {
            var (key, dtype, _, values) = records[i];
            var name = $"{archiveName}/data/{i}";
            if (dtype == TorchDtype.Float32 && BitConverter.IsLittleEndian) zip.Add(name, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            else zip.Add(name, StorageBytes(dtype, values, key));
        }
        zip.Add($"{archiveName}/version", "3\n"u8.ToArray());
        zip.Finish();
    }

    private static byte[] StorageBytes(TorchDtype dtype, float[] values, string key)
    {
        var bytes = new byte[values.Length * TorchUnpickler.ElementSize(dtype)];
        for (int i = 0; i < values.Length; i++)
        {
            if (dtype == TorchDtype.Int64)
            {
                float v = values[i];
                if (!float.IsFinite(v) || v != MathF.Floor(v)) throw new ArgumentException($"'{key}' must hold whole numbers to be saved as int64, found {v}.");
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), (long)v);
            }
            else System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }
        return bytes;
    }
}
