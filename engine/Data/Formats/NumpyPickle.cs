using System.Collections;
using System.Text;
using Razorvine.Pickle;

namespace SpikeEngine.Data;

/// <summary>
/// Reads Python pickles holding dicts of numpy arrays (the CIFAR "python version" files) with
/// Razorvine.Pickle. A numpy array is pickled as
/// <c>numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')</c> followed by a BUILD with the
/// state <c>(version, shape, dtype, is_fortran, raw_bytes)</c>; a dtype as <c>numpy.dtype('u1', 0, 1)</c>
/// followed by a BUILD with its own state. Constructors for both are registered here.
/// Python 2 pickles hold byte strings as latin-1 <see cref="string"/>s; Python 3 ones as byte[]:
/// <see cref="AsBytes"/> and <see cref="Key"/> accept both.
/// </summary>
internal static class NumpyPickle
{
    private static readonly object RegisterLock = new();
    private static bool _registered;

    /// <summary>A numpy array as read from a pickle: raw little-endian element bytes.</summary>
    public sealed class NdArray
    {
        public int[] Shape { get; private set; } = [];
        public NumpyDtype? Dtype { get; private set; }
        public bool Fortran { get; private set; }
        public byte[] Data { get; private set; } = [];

        // Called by Razorvine's BUILD opcode.
        public void __setstate__(object[] state)
        {
            if (state.Length != 5) throw new PickleException($"numpy array state has {state.Length} items, 5 expected.");
            Shape = ((object[])state[1]).Select(Convert.ToInt32).ToArray();
            Dtype = state[2] as NumpyDtype ?? throw new PickleException("numpy array state has no dtype.");
            Fortran = state[3] is bool b && b;
            Data = AsBytes(state[4]) ?? throw new PickleException($"numpy array data is a {state[4]?.GetType().Name ?? "null"}, bytes expected.");
        }
    }

    /// <summary>numpy.dtype: the type code ('u1', 'i8', …) and byte order from its state.</summary>
    public sealed class NumpyDtype(string code)
    {
        public string Code { get; } = code;
        public string ByteOrder { get; private set; } = "|";

        public void __setstate__(object[] state)
        {
            if (state.Length > 1 && state[1] is string order) ByteOrder = order;
        }
    }

    private sealed class ReconstructConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new NdArray();
    }

    private sealed class DtypeConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new NumpyDtype(args.Length > 0 ? Convert.ToString(args[0]) ?? "" : "");
    }

    // Python 3 protocol-2 pickles write bytes as _codecs.encode(latin1_text, 'latin1').
    private sealed class CodecsEncodeConstructor : IObjectConstructor
    {
        public object construct(object[] args) => Encoding.Latin1.GetBytes((string)args[0]);
    }

    private static void Register()
    {
        lock (RegisterLock)
        {
            if (_registered) return;
            foreach (var module in new[] { "numpy.core.multiarray", "numpy._core.multiarray" })
                Unpickler.registerConstructor(module, "_reconstruct", new ReconstructConstructor());
            Unpickler.registerConstructor("numpy", "dtype", new DtypeConstructor());
            Unpickler.registerConstructor("_codecs", "encode", new CodecsEncodeConstructor());
            _registered = true;
        }
    }

    /// <summary>Unpickles a file whose top level is a dict; keys become text.</summary>
    public static Dictionary<string, object?> LoadDict(string path)
    {
        Register();
        object result;
        try
        {
            using var stream = File.OpenRead(path);
            using var unpickler = new Unpickler();
            result = unpickler.load(stream);
        }
        catch (Exception e) when (e is PickleException or InvalidCastException or EndOfStreamException or IOException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"{path}: not a readable Python pickle ({e.GetType().Name}: {e.Message}); the file is damaged, truncated or not a CIFAR python-version file.", e);
        }
        if (result is not IDictionary dict)
            throw new InvalidDataException($"{path}: the pickle holds a {result?.GetType().Name ?? "None"}, a dict was expected.");
        var map = new Dictionary<string, object?>();
        foreach (DictionaryEntry e in dict) map[Key(e.Key)] = e.Value;
        return map;
    }

    public static string Key(object key) => key switch
    {
        string s => s,
        byte[] b => Encoding.Latin1.GetString(b),
        _ => key.ToString() ?? "",
    };

    public static byte[]? AsBytes(object? value) => value switch
    {
        byte[] b => b,
        string s => Encoding.Latin1.GetBytes(s),
        _ => null,
    };

    /// <summary>A list of Python ints or a 1-D integer numpy array as int[].</summary>
    public static int[] AsInts(object? value, string path, string key)
    {
        switch (value)
        {
            case IList list:
                {
                    var r = new int[list.Count];
                    for (int i = 0; i < r.Length; i++)
                        r[i] = list[i] switch
                        {
                            int v => v,
                            long v => checked((int)v),
                            _ => throw new InvalidDataException($"{path}: '{key}'[{i}] is a {list[i]?.GetType().Name ?? "None"}, an int was expected."),
                        };
                    return r;
                }
            case NdArray a when a.Shape.Length == 1:
                {
                    int n = a.Shape[0];
                    var code = a.Dtype!.Code;
                    int size = code switch { "u1" or "i1" => 1, "i2" or "u2" => 2, "i4" or "u4" => 4, "i8" or "u8" => 8, _ => 0 };
                    if (size > 1 && (a.Dtype.ByteOrder == ">" || !BitConverter.IsLittleEndian))
                        throw new InvalidDataException($"{path}: '{key}' is a big-endian numpy array; only little-endian label arrays are read.");
                    if (size == 0 || a.Data.Length != n * size)
                        throw new InvalidDataException($"{path}: '{key}' is a numpy array of dtype {code} with {a.Data.Length} bytes for {n} elements; integer labels expected.");
                    var r = new int[n];
                    for (int i = 0; i < n; i++)
                        r[i] = size switch
                        {
                            1 => code[0] == 'i' ? (sbyte)a.Data[i] : a.Data[i],
                            2 => BitConverter.ToInt16(a.Data, i * 2),
                            4 => BitConverter.ToInt32(a.Data, i * 4),
                            _ => checked((int)BitConverter.ToInt64(a.Data, i * 8)),
                        };
                    return r;
                }
            default:
                throw new InvalidDataException($"{path}: '{key}' is a {value?.GetType().Name ?? "None"}, a list of labels was expected.");
        }
    }

    /// <summary>A list of Python (byte) strings as text.</summary>
    public static string[] AsStrings(object? value, string path, string key)
    {
        if (value is not IList list)
            throw new InvalidDataException($"{path}: '{key}' is a {value?.GetType().Name ?? "None"}, a list of names was expected.");
        var r = new string[list.Count];
        for (int i = 0; i < r.Length; i++)
            r[i] = list[i] switch
            {
                string s => s,
                byte[] b => Encoding.UTF8.GetString(b),
                _ => throw new InvalidDataException($"{path}: '{key}'[{i}] is a {list[i]?.GetType().Name ?? "None"}, a string was expected."),
            };
        return r;
    }
}
