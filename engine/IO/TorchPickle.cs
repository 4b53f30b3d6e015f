using System.Collections;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;

namespace SpikeEngine.IO;

/// <summary>Element types of PyTorch storages, named as their pickled storage classes (torch.FloatStorage, …).</summary>
public enum TorchDtype { Float32, Float64, Float16, BFloat16, Int64, Int32, Int16, Int8, UInt8, Bool }

/// <summary>A tensor as found in a PyTorch pickle: its element type in the file and its values converted to float32.</summary>
public sealed record TorchTensor(TorchDtype Dtype, int[] Shape, float[] Values, string StorageKey = "")
{
    public bool IsFloatingPoint => Dtype is TorchDtype.Float32 or TorchDtype.Float64 or TorchDtype.Float16 or TorchDtype.BFloat16;
}

/// <summary>collections.OrderedDict: a Hashtable that remembers insertion order and accepts the BUILD state (a
/// state_dict's <c>_metadata</c>, which this reader does not need). Note: Razorvine inserts the items of each
/// SETITEMS batch in reverse, so insertion order is not file order; see PyTorchCheckpoint.FileOrder.</summary>
public sealed class OrderedHashtable : Hashtable
{
    private readonly List<object> _order = [];

    public IReadOnlyList<object> OrderedKeys => _order;

    public override object? this[object key]
    {
        get => base[key];
        set
        {
            if (!ContainsKey(key)) _order.Add(key);
            base[key] = value;
        }
    }

    public override void Add(object key, object? value)
    {
        base.Add(key, value);
        _order.Add(key);
    }

    public override void Remove(object key)
    {
        base.Remove(key);
        _order.Remove(key);
    }

    public override void Clear()
    {
        base.Clear();
        _order.Clear();
    }

    // Called by the unpickler's BUILD opcode (OrderedDict instance attributes such as _metadata).
    public void __setstate__(Hashtable state) => State = state;

    public Hashtable? State { get; private set; }
}

/// <summary>
/// Unpickles the data.pkl of a torch.save zip archive: tensors (torch._utils._rebuild_tensor_v2 over
/// persistent storage ids), OrderedDicts and plain Python values. Any other global is an error that names it.
/// </summary>
internal sealed partial class TorchUnpickler : Unpickler
{
    private static readonly Lock RegistrationLock = new();
    private static bool _registered;

    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly string _file;
    private readonly Dictionary<string, (TorchDtype Dtype, byte[] Bytes)> _storages = [];

    public TorchUnpickler(ZipArchive zip, string prefix, string file)
    {
        _zip = zip;
        _prefix = prefix;
        _file = file;
        Register();
    }

    private static readonly (string Name, TorchDtype Dtype)[] StorageTypes =
    [
        ("FloatStorage", TorchDtype.Float32), ("DoubleStorage", TorchDtype.Float64), ("HalfStorage", TorchDtype.Float16),
        ("BFloat16Storage", TorchDtype.BFloat16), ("LongStorage", TorchDtype.Int64), ("IntStorage", TorchDtype.Int32),
        ("ShortStorage", TorchDtype.Int16), ("CharStorage", TorchDtype.Int8), ("ByteStorage", TorchDtype.UInt8),
        ("BoolStorage", TorchDtype.Bool),
    ];

    public static string StorageTypeName(TorchDtype dtype) => StorageTypes.First(s => s.Dtype == dtype).Name;

    public static int ElementSize(TorchDtype dtype) => dtype switch
    {
        TorchDtype.Float64 or TorchDtype.Int64 => 8,
        TorchDtype.Float32 or TorchDtype.Int32 => 4,
        TorchDtype.Float16 or TorchDtype.BFloat16 or TorchDtype.Int16 => 2,
        _ => 1,
    };

    // Razorvine keeps constructors in a process-wide table.
    private static void Register()
    {
        lock (RegistrationLock)
        {
            if (_registered) return;
            foreach (var (name, dtype) in StorageTypes) registerConstructor("torch", name, new StorageType(dtype));
            registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor());
            registerConstructor("torch._utils", "_rebuild_tensor", new RebuildTensor());
            registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameter());
            registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
            _registered = true;
        }
    }

    private sealed class StorageType(TorchDtype dtype) : IObjectConstructor
    {
        public TorchDtype Dtype { get; } = dtype;
        public object construct(object[] args) => throw new PickleException($"torch.{StorageTypeName(Dtype)} cannot be constructed directly in a checkpoint pickle.");
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            var d = new OrderedHashtable();
            if (args.Length > 0 && args[0] is IEnumerable items)
                foreach (var item in items)
                    if (item is object[] { Length: 2 } kv) d[kv[0]] = kv[1];
            return d;
        }
    }

    internal sealed record StorageRef(TorchDtype Dtype, string Key, byte[] Bytes);

    /// <summary>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata]).</summary>
    private sealed class RebuildTensor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not StorageRef storage)
                throw new PickleException($"_rebuild_tensor_v2 expects (storage, offset, size, stride, …), found {args.Length} arguments starting with {Describe(args.FirstOrDefault())}.");
            long offset = ToLong(args[1], "storage offset");
            var size = ToLongs(args[2], "size");
            var stride = ToLongs(args[3], "stride");
            if (size.Length != stride.Length) throw new PickleException($"storage {storage.Key}: size has {size.Length} dimensions but stride has {stride.Length}.");
            return Gather(storage, offset, size, stride);
        }
    }

    /// <summary>torch._utils._rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself.</summary>
    private sealed class RebuildParameter : IObjectConstructor
    {
        public object construct(object[] args) => args.Length > 0 && args[0] is TorchTensor t
            ? t
            : throw new PickleException($"_rebuild_parameter expects a tensor, found {Describe(args.FirstOrDefault())}.");
    }

    private static long ToLong(object? o, string what) => o switch
    {
        int i => i,
        long l => l,
        short s => s,
        byte b => b,
        System.Numerics.BigInteger bi when bi >= long.MinValue && bi <= long.MaxValue => (long)bi,
        _ => throw new PickleException($"expected an integer for the {what}, found {Describe(o)}."),
    };

    private static long[] ToLongs(object? o, string what) => o switch
    {
        object[] tuple => tuple.Select(e => ToLong(e, what)).ToArray(),
        IList list => list.Cast<object>().Select(e => ToLong(e, what)).ToArray(),
        _ => throw new PickleException($"expected a tuple of integers for the {what}, found {Describe(o)}."),
    };

    internal static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"a string (\"{(s.Length > 40 ? s[..40] + "…" : s)}\")",
        int or long or System.Numerics.BigInteger => $"an integer ({o})",
        double d => $"a float ({d})",
        bool b => $"a bool ({b})",
        object[] t => $"a tuple of {t.Length}",
        ClassDict cd => $"an object of class {cd.ClassName}",
        IDictionary => "a dict",
        IList => "a list",
        TorchTensor t => $"a {t.Dtype} tensor [{string.Join(", ", t.Shape)}]",
        _ => $"a {o.GetType().Name}",
    };

    /// <summary>Copies a (possibly non-contiguous, offset) view of a storage into a dense float32 array.</summary>
    private static TorchTensor Gather(StorageRef storage, long offset, long[] size, long[] stride)
    {
        int elem = ElementSize(storage.Dtype);
        long storageNumel = storage.Bytes.Length / elem;
        long numel = 1;
        foreach (var s in size)
        {
            if (s < 0) throw new PickleException($"storage {storage.Key}: negative size [{string.Join(", ", size)}].");
            numel *= s;
        }
        if (numel > int.MaxValue) throw new PickleException($"storage {storage.Key}: a tensor of {numel} elements is too large.");
        if (numel > 0)
        {
            long lo = offset, hi = offset;
            for (int d = 0; d < size.Length; d++)
            {
                long reach = (size[d] - 1) * stride[d];
                if (reach < 0) lo += reach; else hi += reach;
            }
            if (lo < 0 || hi >= storageNumel)
                throw new PickleException($"storage {storage.Key}: the view (offset {offset}, size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}]) reaches elements {lo}..{hi} but the storage holds {storageNumel}.");
        }
        var values = new float[numel];
        var bytes = storage.Bytes.AsSpan();
        if (storage.Dtype == TorchDtype.Float32 && BitConverter.IsLittleEndian && IsContiguous(size, stride))
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.Slice((int)(offset * 4), (int)(numel * 4))).CopyTo(values);
            return new TorchTensor(storage.Dtype, size.Select(s => (int)s).ToArray(), values, storage.Key);
        }
        var index = new long[size.Length];
        long at = offset;
        for (long i = 0; i < numel; i++)
        {
            values[i] = ReadElement(bytes, storage.Dtype, at * elem);
            for (int d = size.Length - 1; d >= 0; d--)
            {
                index[d]++;
                at += stride[d];
                if (index[d] < size[d]) break;
                at -= index[d] * stride[d];
                index[d] = 0;
            }
        }
        return new TorchTensor(storage.Dtype, size.Select(s => (int)s).ToArray(), values, storage.Key);
    }

    private static bool IsContiguous(long[] size, long[] stride)
    {
        long expected = 1;
        for (int d = size.Length - 1; d >= 0; d--)
        {
            if (size[d] != 1 && stride[d] != expected) return false;
            expected *= size[d];
        }
        return true;
    }

    private static float ReadElement(ReadOnlySpan<byte> b, TorchDtype dtype, long at)
    {
        var s = b[(int)at..];
        return dtype switch
        {
            TorchDtype.Float32 => System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(s),
            TorchDtype.Float64 => (float)System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(s),
            TorchDtype.Float16 => (float)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(s),
            TorchDtype.BFloat16 => BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(s) << 16),
            TorchDtype.Int64 => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(s),
            TorchDtype.Int32 => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(s),
            TorchDtype.Int16 => System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(s),
            TorchDtype.Int8 => (sbyte)s[0],
            _ => s[0],
        };
    }

    /// <summary>pid = ('storage', storage type, key, location, numel).</summary>
    protected override object persistentLoad(object pid)
    {
        if (pid is not object[] { Length: >= 5 } t || t[0] is not string kind || kind != "storage")
            throw new PickleException($"unsupported persistent id {Describe(pid)} (expected ('storage', type, key, location, numel)).");
        if (t[1] is not StorageType type)
        {
            var name = t[1] is ClassDictConstructor c ? $"{c.module}.{c.name}" : Describe(t[1]);
            throw new PickleException($"unsupported storage type {name} (supported: {string.Join(", ", StorageTypes.Select(s => "torch." + s.Name))}).");
        }
        var key = t[2] as string ?? throw new PickleException($"storage key is {Describe(t[2])}, expected a string.");
        long numel = ToLong(t[4], "storage size");
        if (_storages.TryGetValue(key, out var cached)) return new StorageRef(cached.Dtype, key, cached.Bytes);
        var entryName = $"{_prefix}data/{key}";
        var entry = _zip.GetEntry(entryName) ?? throw new PickleException($"the archive has no record '{entryName}' for storage {key}.");
        long expected = numel * ElementSize(type.Dtype);
        if (numel < 0 || expected > Array.MaxLength)
            throw new PickleException($"storage {key} of {numel} elements ({expected} bytes) is larger than this reader supports ({Array.MaxLength} bytes per storage).");
        if (entry.Length != expected)
            throw new PickleException($"record '{entryName}' holds {entry.Length} bytes but storage {key} needs {numel} × {ElementSize(type.Dtype)} = {expected}.");
        var bytes = new byte[expected];
        using (var s = entry.Open()) s.ReadExactly(bytes);
        _storages[key] = (type.Dtype, bytes);
        return new StorageRef(type.Dtype, key, bytes);
    }

    [GeneratedRegex(@"ClassDict \(for ([\w.]+)\)")]
    private static partial Regex UnknownClassPattern();

    /// <summary>Unpickles data.pkl; unknown globals and damaged records become errors that name the file.</summary>
    public object Load(byte[] pickle)
    {
        object result;
        try
        {
            result = loads(pickle);
        }
        catch (PickleException e)
        {
            var m = UnknownClassPattern().Match(e.Message);
            if (m.Success) throw UnknownGlobal(m.Groups[1].Value);
            throw new InvalidDataException($"{_file}: cannot read the checkpoint's pickle: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidCastException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or EndOfStreamException)
        {
            throw new InvalidDataException($"{_file}: cannot read the checkpoint's pickle or its records ({e.GetType().Name}: {e.Message}). The file may be damaged or truncated.", e);
        }
        var unknown = FindUnknownObject(result, 0);
        if (unknown is not null) throw UnknownGlobal(unknown);
        return result;
    }

    private InvalidDataException UnknownGlobal(string global) => new(
        $"{_file}: the pickle refers to the Python global '{global}', which this reader does not know " +
        "(it reads tensors, OrderedDicts and plain Python values). If the file holds a whole model object or extra objects, " +
        "re-save just the weights in PyTorch: torch.save(model.state_dict(), 'weights.pth').");

    private static string? FindUnknownObject(object? o, int depth)
    {
        if (depth > 64) return null;
        switch (o)
        {
            case ClassDict cd: return cd.ClassName;
            case ClassDictConstructor c: return $"{c.module}.{c.name}";
            case string or TorchTensor: return null;
            case IDictionary d:
                foreach (DictionaryEntry e in d)
                    if ((FindUnknownObject(e.Key, depth + 1) ?? FindUnknownObject(e.Value, depth + 1)) is { } found) return found;
                return null;
            case IEnumerable items:
                foreach (var item in items)
                    if (FindUnknownObject(item, depth + 1) is { } found) return found;
                return null;
            default: return null;
        }
    }
}
