using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Weights;

/// <summary>Paths of the committed fixtures made by Fixtures/Weights/make_fixtures.py.</summary>
internal static class WeightsFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Weights");

    public static string Folder(string name) => Path.Combine(Root, name);

    public static string Malicious(string name) => Path.Combine(Root, "malicious", name);

    /// <summary>Torch's own per-tensor summary (shape, float64 sum, first and last element) of a fixture model.</summary>
    public static Dictionary<string, (int[] Shape, double Sum, double First, double Last)> Expected(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "expected.json")));
        return doc.RootElement.GetProperty(model).EnumerateObject().ToDictionary(
            p => p.Name,
            p => (p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                p.Value.GetProperty("sum").GetDouble(), p.Value.GetProperty("first").GetDouble(),
                p.Value.GetProperty("last").GetDouble()));
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "circuitdsl-weights-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Copies a fixture folder's files into this folder.</summary>
    public TempFolder CopyFrom(string fixtureFolder)
    {
        foreach (var f in Directory.GetFiles(fixtureFolder))
        {
            System.IO.File.Copy(f, File(System.IO.Path.GetFileName(f)));
        }

        return this;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>Builds safetensors bytes by hand, so corrupt files can be made field by field.</summary>
internal static class SafetensorsBytes
{
    public static byte[] Build(string header, byte[] data, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    public static byte[] UInt16s(params ushort[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), values[i]);
        }

        return bytes;
    }
}

/// <summary>Writes pickle opcodes by hand (protocol 2, as torch does), for pickles torch would never write.</summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _bytes = new();

    public PickleBuilder() => Op(0x80, 2);

    public byte[] Bytes => _bytes.ToArray();

    public PickleBuilder Op(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleBuilder Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        return Op((byte)'X').Op(length).Op(utf8);
    }

    public PickleBuilder Int(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return Op((byte)'J').Op(bytes);
    }

    public PickleBuilder Global(string module, string name) => Op((byte)'c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleBuilder Mark() => Op((byte)'(');

    public PickleBuilder Tuple() => Op((byte)'t');

    public PickleBuilder EmptyDict() => Op((byte)'}');

    public PickleBuilder SetItem() => Op((byte)'s');

    public PickleBuilder Reduce() => Op((byte)'R');

    public PickleBuilder Stop() => Op((byte)'.');

    public PickleBuilder Ints(params int[] values)
    {
        Mark();
        foreach (var v in values)
        {
            Int(v);
        }

        return Tuple();
    }

    /// <summary>Pushes what torch writes for one tensor: _rebuild_tensor_v2(storage, offset, size, stride, False, {}).</summary>
    public PickleBuilder Tensor(string storageType, string key, int storageCount, int offset, int[] size, int[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(storageCount).Tuple().Op((byte)'Q');
        return Int(offset).Ints(size).Ints(stride).Op(0x89).EmptyDict().Tuple().Reduce();
    }

    /// <summary>A one-tensor state dict {name: tensor}.</summary>
    public static byte[] StateDict(string name, string storageType, string key, int storageCount, int offset, int[] size, int[] stride) =>
        new PickleBuilder().EmptyDict().Str(name).Tensor(storageType, key, storageCount, offset, size, stride).SetItem().Stop().Bytes;
}

/// <summary>Writes torch-style zip archives with chosen entries.</summary>
internal static class PthBytes
{
    public static void Write(string path, params (string Name, byte[] Data, CompressionLevel Level)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, data, level) in entries)
        {
            using var s = zip.CreateEntry(name, level).Open();
            s.Write(data);
        }
    }

    public static byte[] FloatBytes(int count, Func<int, float> value)
    {
        var bytes = new byte[count * 4];
        for (var i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), value(i));
        }

        return bytes;
    }
}

/// <summary>Assertions shared by the weights tests.</summary>
internal static class TensorAssert
{
    public static void Identical(Tensor actual, Tensor expected, string name)
    {
        actual.Shape.ToArray().Should().Equal(expected.Shape.ToArray(), $"shape of {name}");
        actual.Span.ToArray().Should().Equal(expected.Span.ToArray(), $"values of {name}");
    }
}
