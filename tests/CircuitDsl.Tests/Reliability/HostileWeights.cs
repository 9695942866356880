using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Reliability;

/// <summary>What a hostile case attacks.</summary>
public enum HostileKind
{
    /// <summary>An unmodified file from the generator: must load (guards the generator itself).</summary>
    Control,
    Truncation,
    FlippedBytes,
    HeaderLengthNear2To64,
    OffsetsPastEnd,
    OverlappingOffsets,
    BadShape,
    DtypeShapeMismatch,
    DeepPickle,
    CyclicPickle,
    CodeExecutionPickle,
    ViewOutOfRange,
    ZipBombDeclaredSize,
    ZipBombActualSize,
    ZipManyEntries,
    NestedZip,
    ZipPathTraversal,
}

/// <summary>
/// One model folder to load: a config and a weights file. <see cref="MayLoad"/> cases (random bit flips, which
/// can land in tensor data that no format checksums) may load; every other case must be refused.
/// <see cref="Expect"/>, when set, is text the refusal must contain.
/// </summary>
public sealed record HostileCase(HostileKind Kind, string Description, string WeightsFileName, byte[] Weights, byte[] Config,
    bool MayLoad = false, string? Expect = null);

/// <summary>
/// A seeded generator of hostile model folders built from a small valid model (the committed attn-only
/// fixture): structural attacks written field by field, and byte-level mutations of the committed fixture files.
/// </summary>
public sealed class HostileWeights
{
    private const string Pth = "model.pth";
    private const string St = "model.safetensors";

    // Python's os.system / subprocess payloads name this file; it must never appear.
    private readonly string _sentinel;
    private readonly List<(string Name, int[] Shape, float[] Data)> _tensors;
    private readonly byte[] _config;
    private readonly (string File, byte[] Bytes, byte[] Config)[] _fixtureFiles;

    /// <param name="fixtures">The folder tests/CircuitDsl.Tests/Fixtures/Weights (as copied to the output).</param>
    /// <param name="sentinel">A path that a payload would create if any pickle were ever executed.</param>
    public HostileWeights(string fixtures, string sentinel)
    {
        _sentinel = sentinel;
        var baseFolder = Path.Combine(fixtures, "attn_only_st");
        using (var folder = ModelFolder.Load(baseFolder))
        {
            _tensors = [.. folder.Weights.ToStateDict().Select(kv => (kv.Key, kv.Value.Shape.ToArray(), kv.Value.Span.ToArray()))];
        }

        _config = File.ReadAllBytes(Path.Combine(baseFolder, ModelFolder.ConfigFileName));
        _fixtureFiles = [.. new[] { "attn_only_st", "ln_mlp_f16_st", "ln_mlp_bf16_st", "attn_only_pth", "attn_only_pth_p4", "ln_mlp_bf16_pth", "parameters" }
            .Select(name => Path.Combine(fixtures, name))
            .Select(dir => File.Exists(Path.Combine(dir, St))
                ? (St, File.ReadAllBytes(Path.Combine(dir, St)), File.ReadAllBytes(Path.Combine(dir, ModelFolder.ConfigFileName)))
                : (Pth, File.ReadAllBytes(Path.Combine(dir, Pth)), File.ReadAllBytes(Path.Combine(dir, ModelFolder.ConfigFileName))))];
    }

    public static IReadOnlyList<HostileKind> Kinds { get; } = Enum.GetValues<HostileKind>();

    /// <summary><paramref name="count"/> cases, kinds in turn, each drawn from its own seeded generator.</summary>
    public IEnumerable<HostileCase> Cases(int seed, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var kind = Kinds[i % Kinds.Count];
            yield return Make(kind, new Random(HashCode.Combine(seed, i)));
        }
    }

    public HostileCase Make(HostileKind kind, Random rng) => kind switch
    {
        HostileKind.Control => Control(rng),
        HostileKind.Truncation => Truncation(rng),
        HostileKind.FlippedBytes => FlippedBytes(rng),
        HostileKind.HeaderLengthNear2To64 => HeaderLength(rng),
        HostileKind.OffsetsPastEnd => OffsetsPastEnd(rng),
        HostileKind.OverlappingOffsets => Overlapping(rng),
        HostileKind.BadShape => BadShape(rng),
        HostileKind.DtypeShapeMismatch => DtypeMismatch(rng),
        HostileKind.DeepPickle => DeepPickle(rng),
        HostileKind.CyclicPickle => CyclicPickle(rng),
        HostileKind.CodeExecutionPickle => CodeExecution(rng),
        HostileKind.ViewOutOfRange => ViewOutOfRange(rng),
        HostileKind.ZipBombDeclaredSize => ZipBombDeclared(rng),
        HostileKind.ZipBombActualSize => ZipBombActual(rng),
        HostileKind.ZipManyEntries => ManyEntries(rng),
        HostileKind.NestedZip => NestedZip(rng),
        HostileKind.ZipPathTraversal => PathTraversal(rng),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    // ---- valid building blocks ---------------------------------------------------------------------------

    /// <summary>The base model's tensors as pickle specs: storage key i for tensor i, contiguous.</summary>
    private List<PickledTensorSpec> Specs() =>
        [.. _tensors.Select((t, i) => PickledTensorSpec.Contiguous(t.Name, i.ToString(System.Globalization.CultureInfo.InvariantCulture), t.Shape))];

    private static byte[] FloatBytes(float[] data) => MemoryMarshal.AsBytes(data.AsSpan()).ToArray();

    private List<ZipEntrySpec> StorageEntries() =>
        [.. _tensors.Select((t, i) => ZipEntrySpec.Store($"model/data/{i}", FloatBytes(t.Data)))];

    private byte[] PthWith(byte[] pickle, List<ZipEntrySpec>? storages = null) =>
        RawZip.Write([ZipEntrySpec.Store("model/data.pkl", pickle), .. storages ?? StorageEntries(),
            ZipEntrySpec.Store("model/version", "3\n"u8.ToArray())]);

    private List<RawSafetensors.Entry> StEntries()
    {
        long offset = 0;
        var entries = new List<RawSafetensors.Entry>();
        foreach (var (name, shape, data) in _tensors)
        {
            entries.Add(new(name, "\"F32\"", RawSafetensors.Ints([.. shape.Select(d => (long)d)]),
                RawSafetensors.Ints(offset, offset + (data.Length * 4L))));
            offset += data.Length * 4L;
        }

        return entries;
    }

    private byte[] StData() => [.. _tensors.SelectMany(t => FloatBytes(t.Data))];

    private HostileCase Case(HostileKind kind, string description, string file, byte[] bytes, string? expect = null, bool mayLoad = false) =>
        new(kind, description, file, bytes, _config, mayLoad, expect);

    private int PickTensor(Random rng) => rng.Next(_tensors.Count);

    // ---- the kinds -----------------------------------------------------------------------------------------

    private HostileCase Control(Random rng) => rng.Next(2) == 0
        ? Case(HostileKind.Control, "generated safetensors", St, RawSafetensors.Write(StEntries(), StData()), mayLoad: true)
        : Case(HostileKind.Control, "generated pth", Pth, PthWith(PickleWriter.StateDict(Specs())), mayLoad: true);

    private HostileCase Truncation(Random rng)
    {
        var (file, bytes, config) = _fixtureFiles[rng.Next(_fixtureFiles.Length)];
        var cut = rng.Next(bytes.Length);
        return new(HostileKind.Truncation, $"{file} cut to {cut} of {bytes.Length} bytes", file, bytes[..cut], config);
    }

    private HostileCase FlippedBytes(Random rng)
    {
        var (file, original, config) = _fixtureFiles[rng.Next(_fixtureFiles.Length)];
        var bytes = (byte[])original.Clone();
        var flips = 1 + rng.Next(8);
        var where = new List<int>();
        for (var k = 0; k < flips; k++)
        {
            var at = rng.Next(bytes.Length);
            bytes[at] ^= (byte)(1 << rng.Next(8));
            where.Add(at);
        }

        return new(HostileKind.FlippedBytes, $"{file}: bits flipped at {string.Join(",", where)}", file, bytes, config, MayLoad: true);
    }

    private HostileCase HeaderLength(Random rng)
    {
        var data = StData();
        var valid = RawSafetensors.Write(StEntries(), data);
        var headerBytes = valid.Length - 8 - data.Length;
        ulong[] choices =
        [
            ulong.MaxValue, ulong.MaxValue - (ulong)rng.Next(1, 1 << 20), (1UL << 63) + (ulong)rng.Next(1 << 20), 1UL << 63,
            (ulong)long.MaxValue, (1UL << 32) + (ulong)rng.Next(-16, 16), (ulong)(valid.Length - 8 + 1 + rng.Next(1 << 16)),
            (ulong)(headerBytes + 1 + rng.Next(data.Length)), 0, (ulong)rng.Next(1, headerBytes),
        ];
        var claimed = choices[rng.Next(choices.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(valid, claimed);
        return Case(HostileKind.HeaderLengthNear2To64, $"header length {claimed} (real {headerBytes})", St, valid);
    }

    private HostileCase OffsetsPastEnd(Random rng)
    {
        var entries = StEntries();
        var data = StData();
        var i = PickTensor(rng);
        var size = _tensors[i].Data.Length * 4L;
        long n = data.Length;
        string[] choices =
        [
            RawSafetensors.Ints(n - size + 4 + (4 * rng.Next(64)), n + 4 + (4 * rng.Next(64))),
            RawSafetensors.Ints(n + 4, n + 4 + size),
            RawSafetensors.Ints(long.MaxValue - size, long.MaxValue),
            RawSafetensors.Ints(long.MaxValue, long.MaxValue),
            RawSafetensors.Ints(-size, 0),
            RawSafetensors.Ints(size, 0),
            "[0,18446744073709551615]",
            "[0]", "[0,4,8]", "[0.5,4.5]", "[\"0\",\"352\"]", "null", "{}",
        ];
        var offsets = choices[rng.Next(choices.Length)];
        entries[i] = entries[i] with { Offsets = offsets };
        return Case(HostileKind.OffsetsPastEnd, $"{_tensors[i].Name} data_offsets {offsets}", St,
            RawSafetensors.Write(entries, data), _tensors[i].Name);
    }

    private HostileCase Overlapping(Random rng)
    {
        var entries = StEntries();
        var data = StData();

        // Two tensors of one size (W_Q and W_K are both [2, 8, 4]) may alias each other exactly, or any tensor
        // may be shifted into its neighbour by a few elements.
        if (rng.Next(2) == 0)
        {
            var q = entries.FindIndex(e => e.Name == "blocks.0.attn.W_Q");
            var k = entries.FindIndex(e => e.Name == "blocks.0.attn.W_K");
            entries[k] = entries[k] with { Offsets = entries[q].Offsets };
            return Case(HostileKind.OverlappingOffsets, "W_K aliases W_Q's bytes", St, RawSafetensors.Write(entries, data), "overlap");
        }

        var i = 1 + rng.Next(_tensors.Count - 1);
        var begin = _tensors.Take(i).Sum(t => t.Data.Length * 4L);
        var size = _tensors[i].Data.Length * 4L;
        var shift = 4L * (1 + rng.Next((int)Math.Min(_tensors[i - 1].Data.Length, 64)));
        entries[i] = entries[i] with { Offsets = RawSafetensors.Ints(begin - shift, begin - shift + size) };
        return Case(HostileKind.OverlappingOffsets, $"{_tensors[i].Name} shifted back {shift} bytes", St,
            RawSafetensors.Write(entries, data), "overlap");
    }

    private HostileCase BadShape(Random rng)
    {
        var i = PickTensor(rng);
        var (name, shape, _) = _tensors[i];
        if (rng.Next(2) == 0)
        {
            var entries = StEntries();
            string[] choices =
            [
                RawSafetensors.Ints(-1, shape.Length > 1 ? shape[1] : 1), RawSafetensors.Ints(shape[0], -8),
                RawSafetensors.Ints(1L << 31), RawSafetensors.Ints(1L << 32, 1L << 32), RawSafetensors.Ints(long.MaxValue, 2),
                "[18446744073709551615]", "[1e3]", "[\"8\"]", "[[8]]", "\"8\"", "null",
                "[" + string.Join(",", Enumerable.Repeat(1, 64 + rng.Next(64))) + "]",
                RawSafetensors.Ints([.. shape.Reverse().Select(d => (long)d)]) is var reversed && shape.Length > 1 && shape[0] != shape[^1]
                    ? reversed : RawSafetensors.Ints(shape.Aggregate(1L, (a, b) => a * b), 1),
            ];
            var text = choices[rng.Next(choices.Length)];
            entries[i] = entries[i] with { Shape = text };
            return Case(HostileKind.BadShape, $"safetensors {name} shape {text}", St, RawSafetensors.Write(entries, StData()), name);
        }

        var specs = Specs();
        long[][] sizes =
        [
            [-1, .. specs[i].Size.Skip(1)], [.. specs[i].Size.SkipLast(1), -(1L << 40)], [1L << 32, 1L << 32], [long.MaxValue],
            [1L << 31], [.. specs[i].Size.Reverse()], [.. specs[i].Size, 1],
        ];
        var size = sizes[rng.Next(sizes.Length)];
        var stride = size.Length == specs[i].Stride.Length ? specs[i].Stride : [.. Enumerable.Repeat(1L, size.Length)];
        if (size.SequenceEqual(specs[i].Size))
        {
            size = [.. size, 2];
            stride = [.. stride, 1];
        }

        specs[i] = specs[i] with { Size = size, Stride = stride };

        // Refusals inside the pickle give data.pkl's byte offset, not the tensor's name (the reader has not seen it yet).
        return Case(HostileKind.BadShape, $"pth {name} size ({string.Join(",", size)})", Pth, PthWith(PickleWriter.StateDict(specs)));
    }

    private HostileCase DtypeMismatch(Random rng)
    {
        var i = PickTensor(rng);
        var (name, shape, _) = _tensors[i];
        if (rng.Next(2) == 0)
        {
            var entries = StEntries();
            var doubled = RawSafetensors.Ints([.. shape.Select((d, axis) => axis == 0 ? 2L * d : d)]);
            (string Dtype, string? Shape)[] choices =
            [
                ("\"F16\"", null), ("\"BF16\"", null), ("\"F64\"", null), ("\"I64\"", null), ("\"BOOL\"", null), ("\"U8\"", null),
                ("\"f32\"", null), ("\"F32 \"", null), ("\"\"", null), ("32", null), ("null", null), ("\"F16\"", doubled),
                ("\"BF16\"", doubled), ("\"I32\"", null), ("\"F8_E4M3\"", null),
            ];
            var (dtype, newShape) = choices[rng.Next(choices.Length)];
            entries[i] = entries[i] with { Dtype = dtype, Shape = newShape ?? entries[i].Shape };
            return Case(HostileKind.DtypeShapeMismatch, $"safetensors {name} dtype {dtype} shape {entries[i].Shape}", St,
                RawSafetensors.Write(entries, StData()), name);
        }

        var specs = Specs();
        var count = specs[i].StorageCount;
        (string Type, long Count)[] storages =
        [
            ("HalfStorage", count), ("BFloat16Storage", count), ("DoubleStorage", count), ("LongStorage", count), ("BoolStorage", count),
            ("FloatStorage", count + 1 + rng.Next(100)), ("FloatStorage", count - 1),
            ("FloatStorage", 1L << 40), ("ByteStorage", count * 4),
        ];
        var (type, storageCount) = storages[rng.Next(storages.Length)];
        specs[i] = specs[i] with { StorageType = type, StorageCount = storageCount };
        return Case(HostileKind.DtypeShapeMismatch, $"pth {name} storage {type}[{storageCount}]", Pth, PthWith(PickleWriter.StateDict(specs)));
    }

    private HostileCase DeepPickle(Random rng)
    {
        var depth = 1_000 + rng.Next(200_000);
        var w = new PickleWriter(4);
        string description;
        switch (rng.Next(7))
        {
            case 5:
                // One value memoized under ever new indices: each MEMOIZE byte is a memo entry; deflated 1000-fold.
                w.None().Repeat([0x94], depth * 10).Stop();
                return Case(HostileKind.DeepPickle, $"{depth * 10} memo entries, deflated", Pth,
                    RawZip.Write([ZipEntrySpec.Deflate("model/data.pkl", w.ToArray()), .. StorageEntries()]));
            case 6:
                // A list that appends itself: three bytes of pickle per list slot; deflated 1000-fold.
                w.EmptyList().Put(0).Repeat("h\0a"u8, depth * 10).Stop();
                return Case(HostileKind.DeepPickle, $"a list appended to {depth * 10} times, deflated", Pth,
                    RawZip.Write([ZipEntrySpec.Deflate("model/data.pkl", w.ToArray()), .. StorageEntries()]));
            case 0:
                w.Repeat("("u8, depth).Stop();
                description = $"{depth} nested MARKs";
                break;
            case 1:
                w.Repeat("]"u8, depth).Repeat("a"u8, depth - 1).Stop();
                description = $"lists nested {depth} deep";
                break;
            case 2:
                w.Repeat("N"u8, depth).Stop();
                description = $"{depth} values on the stack";
                break;
            case 3:
                w.EmptyDict().Str(_tensors[0].Name).Repeat("]"u8, Math.Min(depth, 90_000)).Repeat("a"u8, Math.Min(depth, 90_000) - 1)
                    .SetItem().Stop();
                description = "a tensor that is a deeply nested list";
                break;
            default:
                w.Repeat("(("u8, depth / 2).Repeat("t"u8, depth / 2).Stop();
                description = $"tuples nested {depth / 2} deep";
                break;
        }

        return Case(HostileKind.DeepPickle, description, Pth, PthWith(w.ToArray()));
    }

    private HostileCase CyclicPickle(Random rng)
    {
        var w = new PickleWriter();
        string description;
        switch (rng.Next(4))
        {
            case 0:
                w.EmptyDict().Put(0).Str(_tensors[0].Name).Get(0).SetItem().Stop();
                description = "a state dict that contains itself";
                break;
            case 1:
                w.EmptyDict().Str(_tensors[0].Name).EmptyList().Put(1).Get(1).Append().SetItem().Stop();
                description = "a tensor that is a list containing itself";
                break;
            case 2:
                w.EmptyDict().Put(0).Get(0).Get(0).Build().Stop();
                description = "a dict built with itself as state";
                break;
            default:
                w.EmptyDict().Str(_tensors[0].Name).Get((byte)rng.Next(1, 256)).SetItem().Stop();
                description = "a memo entry that was never stored";
                break;
        }

        return Case(HostileKind.CyclicPickle, description, Pth, PthWith(w.ToArray()));
    }

    private static readonly (string Module, string Name)[] Dangerous =
    [
        ("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"), ("subprocess", "call"),
        ("subprocess", "check_output"), ("commands", "Popen"), ("builtins", "eval"), ("builtins", "exec"), ("__builtin__", "eval"),
        ("builtins", "__import__"), ("builtins", "getattr"), ("builtins", "open"), ("io", "open"), ("shutil", "rmtree"),
        ("pickle", "loads"), ("torch", "load"), ("torch.storage", "_load_from_bytes"), ("numpy.core.multiarray", "_reconstruct"),
        ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2 "), ("torch._utils ", "_rebuild_tensor_v2"),
        ("collections", "OrderedDict.fromkeys"), ("collections.OrderedDict", "__reduce__"), ("torch", "FloatStorage.from_file"),
        ("runpy", "_run_code"), ("ctypes", "CDLL"), ("System.Diagnostics", "Process.Start"),
    ];

    private HostileCase CodeExecution(Random rng)
    {
        var payload = $"touch {_sentinel}";
        var w = new PickleWriter(rng.Next(2) == 0 ? 2 : 4);
        var specs = Specs();

        // Half the attacks hide after a few honest tensors of a real state dict.
        var honest = rng.Next(2) == 0 ? rng.Next(1, specs.Count) : 0;
        w.EmptyDict();
        foreach (var t in specs.Take(honest))
        {
            w.Str(t.Name).Tensor(t).SetItem();
        }

        w.Str(specs[honest].Name);
        string description, expect;
        switch (rng.Next(8))
        {
            case 0 or 1 or 2:
                var (module, name) = Dangerous[rng.Next(Dangerous.Length)];
                var stack = rng.Next(2) == 0;
                if (stack)
                {
                    w.StackGlobal(module, name);
                }
                else
                {
                    w.Global(module, name);
                }

                w.Mark().Str(payload).Tuple().Reduce();
                description = $"{(stack ? "STACK_GLOBAL" : "GLOBAL")} {module}.{name}('{payload}')";
                expect = $"refused global '{module}.{name}'";
                break;
            case 3:
                w.Mark().Str(payload).Op((byte)'i').Op(Encoding.ASCII.GetBytes("os\nsystem\n"));
                description = "INST os.system";
                expect = "opcode 0x69";
                break;
            case 4:
                byte[] opcodes = [(byte)'o', 0x81, 0x92, 0x82, 0x83, 0x84, (byte)'P', (byte)'I', (byte)'L', (byte)'F', (byte)'S', (byte)'V', 0x8e, 0x96, 0x97, 0x98];
                var op = opcodes[rng.Next(opcodes.Length)];
                w.Mark().Str(payload).Op(op).Op("os\nsystem\n"u8.ToArray());
                description = $"opcode 0x{op:x2}";
                expect = $"opcode 0x{op:x2}";
                break;
            case 5:
                w.Global("collections", "OrderedDict").Mark().Str(payload).Tuple().Reduce();
                description = "OrderedDict called with attacker arguments";
                expect = "called with unexpected arguments";
                break;
            case 6:
                w.Global("torch", "FloatStorage").Mark().Str(payload).Tuple().Reduce();
                description = "a storage type called as a function";
                expect = "REDUCE may only call an allowed constructor";
                break;
            default:
                // __reduce__'s second form: BUILD with a state dict that would set attributes on a tensor.
                w.Tensor(specs[honest]).EmptyDict().Str("__class__").Str("os.system").SetItem().Build();
                description = "BUILD with __class__ state on a tensor";
                expect = "BUILD of a tensor";
                break;
        }

        w.SetItem().Stop();
        return Case(HostileKind.CodeExecutionPickle, description, Pth, PthWith(w.ToArray()), expect);
    }

    private HostileCase ViewOutOfRange(Random rng)
    {
        var specs = Specs();
        var i = PickTensor(rng);
        var t = specs[i];
        var count = t.StorageCount;
        PickledTensorSpec[] choices =
        [
            t with { Offset = -1 - rng.Next(64) },
            t with { Offset = long.MinValue },
            t with { Offset = 1 + rng.Next((int)count) },
            t with { Offset = count },
            t with { Offset = long.MaxValue },
            t with { Stride = [.. t.Stride.Select(s => s * 2)] },
            t with { Stride = [.. t.Stride.Select((s, axis) => axis == 0 ? long.MaxValue / 2 : s)] },
            t with { Stride = [.. t.Stride.Select((s, axis) => axis == 0 ? -s : s)] },
            t with { Stride = [.. t.Stride.Skip(1)] },
        ];
        var bad = choices[rng.Next(choices.Length)];
        specs[i] = bad;
        return Case(HostileKind.ViewOutOfRange,
            $"{t.Name} offset {bad.Offset} stride ({string.Join(",", bad.Stride)})", Pth, PthWith(PickleWriter.StateDict(specs)));
    }

    private HostileCase ZipBombDeclared(Random rng)
    {
        var storages = StorageEntries();
        var pickle = PickleWriter.StateDict(Specs());
        long[] claims = [uint.MaxValue - 1, 1L << 32, 1L << 40, long.MaxValue, 64L << 20, (64L << 20) - 1, 60L << 20, 1L << 30];
        var claim = claims[rng.Next(claims.Length)];
        if (rng.Next(2) == 0)
        {
            // The pickle declares a huge size but holds its few hundred honest bytes.
            var entry = ZipEntrySpec.Store("model/data.pkl", pickle) with { UncompressedSize = claim };
            if (rng.Next(2) == 0)
            {
                entry = ZipEntrySpec.Deflate("model/data.pkl", pickle) with { UncompressedSize = claim };
            }

            return Case(HostileKind.ZipBombDeclaredSize, $"data.pkl declares {claim} bytes", Pth,
                RawZip.Write([entry, .. storages]));
        }

        var i = PickTensor(rng);
        storages[i] = ZipEntrySpec.Deflate(storages[i].Name, FloatBytes(_tensors[i].Data)) with { UncompressedSize = claim };
        return Case(HostileKind.ZipBombDeclaredSize, $"{storages[i].Name} declares {claim} bytes", Pth,
            RawZip.Write([ZipEntrySpec.Store("model/data.pkl", pickle), .. storages]));
    }

    private HostileCase ZipBombActual(Random rng)
    {
        var storages = StorageEntries();
        var specs = Specs();
        var megabytes = 1 + rng.Next(16);
        var zeros = new byte[megabytes << 20];
        switch (rng.Next(3))
        {
            case 0:
            {
                // Declares the honest size of the storage but inflates to megabytes.
                var i = PickTensor(rng);
                storages[i] = ZipEntrySpec.Deflate(storages[i].Name, zeros) with { UncompressedSize = _tensors[i].Data.Length * 4L };
                return Case(HostileKind.ZipBombActualSize, $"{storages[i].Name} inflates to {megabytes} MB", Pth,
                    PthWith(PickleWriter.StateDict(specs), storages));
            }

            case 1:
            {
                // An honest but 1000-fold compressed storage that a forged pickle says backs a tensor.
                var i = PickTensor(rng);
                specs[i] = specs[i] with { StorageCount = zeros.Length / 4 };
                storages[i] = ZipEntrySpec.Deflate(storages[i].Name, zeros);
                return Case(HostileKind.ZipBombActualSize, $"{storages[i].Name}: {megabytes} MB of zeros deflated", Pth,
                    PthWith(PickleWriter.StateDict(specs), storages), "zip bomb");
            }

            default:
            {
                // The pickle declares its honest size but inflates to megabytes of NONE/POP padding first.
                var honest = PickleWriter.StateDict(specs);
                var padded = new PickleWriter().None().Repeat("N0"u8, zeros.Length / 2).Op((byte)'0').ToArray().Concat(honest.Skip(2)).ToArray();
                return Case(HostileKind.ZipBombActualSize, $"data.pkl inflates to {megabytes} MB", Pth,
                    RawZip.Write([ZipEntrySpec.Deflate("model/data.pkl", padded) with { UncompressedSize = honest.Length }, .. storages]));
            }
        }
    }

    private HostileCase ManyEntries(Random rng)
    {
        var n = 2_000 + rng.Next(20_000);
        var junk = Enumerable.Range(0, n).Select(k => ZipEntrySpec.Store($"model/junk/{k}", []));
        var pickle = ZipEntrySpec.Store("model/data.pkl", PickleWriter.StateDict(Specs()));
        switch (rng.Next(4))
        {
            case 0:
                return Case(HostileKind.ZipManyEntries, $"{n} entries and no data.pkl", Pth, RawZip.Write([.. junk, .. StorageEntries()]), "no '<archive>/data.pkl'");
            case 1:
                return Case(HostileKind.ZipManyEntries, $"{n} entries then a second data.pkl", Pth,
                    RawZip.Write([pickle, .. StorageEntries(), .. junk, pickle with { Name = "other/data.pkl" }]), "two pickles");
            case 2:
                return Case(HostileKind.ZipManyEntries, $"{n} entries then '../evil'", Pth,
                    RawZip.Write([pickle, .. StorageEntries(), .. junk, ZipEntrySpec.Store("../evil", [1])]), "refused archive entry");
            default:
                var storages = StorageEntries();
                var missing = PickTensor(rng);
                storages.RemoveAt(missing);
                return Case(HostileKind.ZipManyEntries, $"{n} entries but storage {missing} missing", Pth,
                    RawZip.Write([pickle, .. junk, .. storages]), "missing from the archive");
        }
    }

    private HostileCase NestedZip(Random rng)
    {
        var inner = PthWith(PickleWriter.StateDict(Specs()));
        switch (rng.Next(3))
        {
            case 0:
                return Case(HostileKind.NestedZip, "data.pkl is itself a zip", Pth,
                    RawZip.Write([ZipEntrySpec.Store("model/data.pkl", inner), .. StorageEntries()]), "opcode 0x50");
            case 1:
                var entry = rng.Next(2) == 0 ? ZipEntrySpec.Store("model.pth", inner) : ZipEntrySpec.Deflate("archive/model.pth", inner);
                return Case(HostileKind.NestedZip, $"the archive holds only {entry.Name}", Pth, RawZip.Write([entry]), "no '<archive>/data.pkl'");
            default:
                var storages = StorageEntries();
                var i = PickTensor(rng);
                storages[i] = ZipEntrySpec.Store(storages[i].Name, inner);
                return Case(HostileKind.NestedZip, $"{storages[i].Name} is a zip", Pth,
                    PthWith(PickleWriter.StateDict(Specs()), storages), "declares");
        }
    }

    private static readonly string[] TraversalNames =
    [
        "../model/data.pkl", "model/../../etc/passwd", "/model/data.pkl", "/etc/cron.d/evil", "model\\..\\..\\evil",
        "..\\evil", "C:/model/data.pkl", "C:\\Windows\\evil", "model/data/../data.pkl", "..", "model/..", "model/data/../../../x",
    ];

    private HostileCase PathTraversal(Random rng)
    {
        var name = TraversalNames[rng.Next(TraversalNames.Length)];
        var entries = new List<ZipEntrySpec> { ZipEntrySpec.Store("model/data.pkl", PickleWriter.StateDict(Specs())) };
        entries.AddRange(StorageEntries());
        entries.Insert(rng.Next(entries.Count + 1), ZipEntrySpec.Store(name, Encoding.UTF8.GetBytes("#!/bin/sh\n" + $"touch {_sentinel}\n")));
        return Case(HostileKind.ZipPathTraversal, $"entry '{name}'", Pth, RawZip.Write(entries), "refused archive entry");
    }
}
