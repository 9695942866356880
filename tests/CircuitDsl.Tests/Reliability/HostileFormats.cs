using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace CircuitDsl.Tests.Reliability;

// Writers for the two weights formats that can emit what torch and safetensors never would: any pickle opcode,
// any header text, any zip field. Shared by the dotnet-test fuzz and the stress console in tests/fuzz.

/// <summary>Writes pickle opcodes one by one (protocol 2 unless told otherwise).</summary>
public sealed class PickleWriter
{
    private readonly MemoryStream _bytes = new();

    public PickleWriter(int protocol = 2) => Op(0x80, (byte)protocol);

    public byte[] ToArray() => _bytes.ToArray();

    public long Length => _bytes.Length;

    public PickleWriter Op(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleWriter Repeat(ReadOnlySpan<byte> bytes, int times)
    {
        for (var i = 0; i < times; i++)
        {
            _bytes.Write(bytes);
        }

        return this;
    }

    /// <summary>BINUNICODE.</summary>
    public PickleWriter Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        _bytes.WriteByte((byte)'X');
        _bytes.Write(length);
        _bytes.Write(utf8);
        return this;
    }

    /// <summary>BININT for 32-bit values, LONG1 (8 bytes, two's complement) otherwise.</summary>
    public PickleWriter Int(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            _bytes.WriteByte((byte)'J');
            _bytes.Write(b);
            return this;
        }

        Span<byte> l = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, value);
        _bytes.WriteByte(0x8a);
        _bytes.WriteByte(8);
        _bytes.Write(l);
        return this;
    }

    public PickleWriter Global(string module, string name) => Op((byte)'c').Op(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));

    /// <summary>Protocol 4's STACK_GLOBAL: the two names as strings on the stack.</summary>
    public PickleWriter StackGlobal(string module, string name) => Str(module).Str(name).Op(0x93);

    public PickleWriter Mark() => Op((byte)'(');

    public PickleWriter Tuple() => Op((byte)'t');

    public PickleWriter EmptyTuple() => Op((byte)')');

    public PickleWriter EmptyDict() => Op((byte)'}');

    public PickleWriter EmptyList() => Op((byte)']');

    public PickleWriter Append() => Op((byte)'a');

    public PickleWriter SetItem() => Op((byte)'s');

    public PickleWriter Reduce() => Op((byte)'R');

    public PickleWriter Build() => Op((byte)'b');

    public PickleWriter Put(byte index) => Op((byte)'q', index);

    public PickleWriter Get(byte index) => Op((byte)'h', index);

    public PickleWriter False() => Op(0x89);

    public PickleWriter None() => Op((byte)'N');

    public PickleWriter Stop() => Op((byte)'.');

    public PickleWriter Longs(IEnumerable<long> values)
    {
        Mark();
        foreach (var v in values)
        {
            Int(v);
        }

        return Tuple();
    }

    /// <summary>What torch writes for one tensor: <c>_rebuild_tensor_v2(storage, offset, size, stride, False, {})</c>.</summary>
    public PickleWriter Tensor(PickledTensorSpec t)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", t.StorageType).Str(t.Key).Str("cpu").Int(t.StorageCount).Tuple().Op((byte)'Q');
        return Int(t.Offset).Longs(t.Size).Longs(t.Stride).False().EmptyDict().Tuple().Reduce();
    }

    /// <summary>A whole state dict <c>{name: tensor, ...}</c> in the given order.</summary>
    public static byte[] StateDict(IEnumerable<PickledTensorSpec> tensors)
    {
        var w = new PickleWriter().EmptyDict();
        foreach (var t in tensors)
        {
            w.Str(t.Name).Tensor(t).SetItem();
        }

        return w.Stop().ToArray();
    }
}

/// <summary>One tensor of a pickled state dict: a strided view of storage <see cref="Key"/>.</summary>
public sealed record PickledTensorSpec(string Name, string StorageType, string Key, long StorageCount, long Offset, long[] Size, long[] Stride)
{
    public static PickledTensorSpec Contiguous(string name, string key, int[] shape)
    {
        var stride = new long[shape.Length];
        long s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            stride[i] = s;
            s *= shape[i];
        }

        return new PickledTensorSpec(name, "FloatStorage", key, s, 0, [.. shape.Select(d => (long)d)], stride);
    }
}

/// <summary>One zip entry as it will be written, including sizes that may lie.</summary>
public sealed record ZipEntrySpec(string Name, byte[] Stored, ushort Method, uint Crc, long CompressedSize, long UncompressedSize)
{
    /// <summary>An honest stored (uncompressed) entry, as torch writes.</summary>
    public static ZipEntrySpec Store(string name, byte[] data) => new(name, data, 0, Crc32.Compute(data), data.Length, data.Length);

    /// <summary>An honest deflated entry.</summary>
    public static ZipEntrySpec Deflate(string name, byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var deflate = new DeflateStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(data);
        }

        var compressed = buffer.ToArray();
        return new(name, compressed, 8, Crc32.Compute(data), compressed.Length, data.Length);
    }
}

/// <summary>Writes a zip archive field by field, so declared sizes, names and CRCs can be anything.</summary>
public static class RawZip
{
    public static byte[] Write(IEnumerable<ZipEntrySpec> entries)
    {
        using var zip = new MemoryStream();
        var central = new MemoryStream();
        var count = 0;
        foreach (var e in entries)
        {
            var offset = zip.Position;
            var name = Encoding.UTF8.GetBytes(e.Name);
            var zip64 = e.UncompressedSize >= uint.MaxValue || e.CompressedSize >= uint.MaxValue;
            var extra = zip64 ? Zip64Extra(e) : [];
            WriteHeader(zip, 0x04034b50, e, name, extra, central: false, offset);
            zip.Write(e.Stored);
            WriteHeader(central, 0x02014b50, e, name, extra, central: true, offset);
            count++;
        }

        var centralStart = zip.Position;
        central.Position = 0;
        central.CopyTo(zip);
        Span<byte> end = stackalloc byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], (ushort)Math.Min(count, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], (ushort)Math.Min(count, ushort.MaxValue));
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)central.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)centralStart);
        zip.Write(end);
        return zip.ToArray();
    }

    private static byte[] Zip64Extra(ZipEntrySpec e)
    {
        var extra = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(extra, 0x0001);
        BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), 16);
        BinaryPrimitives.WriteInt64LittleEndian(extra.AsSpan(4), e.UncompressedSize);
        BinaryPrimitives.WriteInt64LittleEndian(extra.AsSpan(12), e.CompressedSize);
        return extra;
    }

    private static void WriteHeader(Stream s, uint signature, ZipEntrySpec e, byte[] name, byte[] extra, bool central, long offset)
    {
        var zip64 = extra.Length > 0;
        var header = new byte[central ? 46 : 30];
        var h = header.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, signature);
        var at = 4;
        if (central)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(h[at..], zip64 ? (ushort)45 : (ushort)20); // version made by
            at += 2;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(h[at..], zip64 ? (ushort)45 : (ushort)20); // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(h[(at + 2)..], 0x0800); // flags: UTF-8 names
        BinaryPrimitives.WriteUInt16LittleEndian(h[(at + 4)..], e.Method);
        BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 6)..], 0x00210000); // 1980-01-01 00:00
        BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 10)..], e.Crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 14)..], zip64 ? uint.MaxValue : (uint)e.CompressedSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[(at + 18)..], zip64 ? uint.MaxValue : (uint)e.UncompressedSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[(at + 22)..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[(at + 24)..], (ushort)extra.Length);
        if (central)
        {
            // comment length, disk, internal and external attributes stay zero; then the local header's offset.
            BinaryPrimitives.WriteUInt32LittleEndian(h[42..], (uint)offset);
        }

        s.Write(header);
        s.Write(name);
        s.Write(extra);
    }
}

/// <summary>CRC-32 (IEEE), as zip uses.</summary>
public static class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++)
        {
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }

        return c;
    }).ToArray();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }
}

/// <summary>Safetensors bytes from header entries whose fields are raw JSON text, so any field can be wrong.</summary>
public static class RawSafetensors
{
    public sealed record Entry(string Name, string Dtype, string Shape, string Offsets);

    public static byte[] Write(IEnumerable<Entry> entries, ReadOnlySpan<byte> data, ulong? headerLength = null)
    {
        var header = "{\"__metadata__\":{\"format\":\"pt\"}," + string.Join(",", entries.Select(e =>
            $"\"{e.Name}\":{{\"dtype\":{e.Dtype},\"shape\":{e.Shape},\"data_offsets\":{e.Offsets}}}")) + "}";
        return WithHeader(header, data, headerLength);
    }

    public static byte[] WithHeader(string header, ReadOnlySpan<byte> data, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes.AsSpan(8 + h.Length));
        return bytes;
    }

    public static string Ints(params long[] values) =>
        "[" + string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";
}
