using System.Buffers.Binary;
using System.Text;

namespace SpikeEngine.IO;

/// <summary>
/// Writes the data.pkl of a torch.save state_dict (pickle protocol 2, as PyTorch writes it): an
/// OrderedDict whose values are torch._utils._rebuild_tensor_v2 calls over persistent ids
/// ('storage', torch.FloatStorage, key, 'cpu', numel). Contiguous tensors, offset 0.
/// </summary>
internal static class TorchPickleWriter
{
    private const byte Proto = 0x80, Global = (byte)'c', EmptyTuple = (byte)')', Reduce = (byte)'R', Mark = (byte)'(',
        BinUnicode = (byte)'X', TupleOp = (byte)'t', BinPersId = (byte)'Q', BinInt1 = (byte)'K', BinInt2 = (byte)'M',
        BinInt = (byte)'J', Long1 = 0x8a, NewFalse = 0x89, SetItems = (byte)'u', Stop = (byte)'.';

    public static byte[] StateDict(IEnumerable<(string Key, TorchDtype Dtype, string StorageKey, int[] Shape)> tensors)
    {
        var p = new MemoryStream();
        p.WriteByte(Proto);
        p.WriteByte(2);
        WriteGlobal(p, "collections", "OrderedDict");
        p.WriteByte(EmptyTuple);
        p.WriteByte(Reduce);
        p.WriteByte(Mark);
        foreach (var (key, dtype, storageKey, shape) in tensors)
        {
            WriteString(p, key);
            WriteGlobal(p, "torch._utils", "_rebuild_tensor_v2");
            p.WriteByte(Mark);
            {
                long numel = shape.Aggregate(1L, (a, d) => a * d);
                p.WriteByte(Mark);
                WriteString(p, "storage");
                WriteGlobal(p, "torch", TorchUnpickler.StorageTypeName(dtype));
                WriteString(p, storageKey);
                WriteString(p, "cpu");
                WriteInt(p, numel);
                p.WriteByte(TupleOp);
                p.WriteByte(BinPersId);
                WriteInt(p, 0); // storage offset
                WriteIntTuple(p, shape.Select(d => (long)d));
                WriteIntTuple(p, ContiguousStrides(shape));
                p.WriteByte(NewFalse); // requires_grad
                WriteGlobal(p, "collections", "OrderedDict"); // backward hooks
                p.WriteByte(EmptyTuple);
                p.WriteByte(Reduce);
            }
            p.WriteByte(TupleOp);
            p.WriteByte(Reduce);
        }
        p.WriteByte(SetItems);
        p.WriteByte(Stop);
        return p.ToArray();
    }

    private static IEnumerable<long> ContiguousStrides(int[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = s;
            s *= shape[d];
        }
        return strides;
    }

    private static void WriteGlobal(Stream p, string module, string name)
    {
        p.WriteByte(Global);
        p.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    private static void WriteString(Stream p, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)bytes.Length);
        p.WriteByte(BinUnicode);
        p.Write(len);
        p.Write(bytes);
    }

    private static void WriteIntTuple(Stream p, IEnumerable<long> values)
    {
        p.WriteByte(Mark);
        foreach (var v in values) WriteInt(p, v);
        p.WriteByte(TupleOp);
    }

    private static void WriteInt(Stream p, long v)
    {
        Span<byte> b = stackalloc byte[8];
        if (v is >= 0 and < 256)
        {
            p.WriteByte(BinInt1);
            p.WriteByte((byte)v);
        }
        else if (v is >= 0 and < 65536)
        {
            p.WriteByte(BinInt2);
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v);
            p.Write(b[..2]);
        }
        else if (v is >= int.MinValue and <= int.MaxValue)
        {
            p.WriteByte(BinInt);
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            p.Write(b[..4]);
        }
        else
        {
            p.WriteByte(Long1);
            p.WriteByte(8);
            BinaryPrimitives.WriteInt64LittleEndian(b, v);
            p.Write(b);
        }
    }
}
