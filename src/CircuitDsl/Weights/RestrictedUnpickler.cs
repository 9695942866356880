using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CircuitDsl.Weights;

/// <summary>
/// A pickle reader that understands exactly what <c>torch.save(state_dict)</c> writes and nothing more.
/// </summary>
/// <remarks>
/// <para>Python's unpickler imports and calls whatever a pickle names, so loading an untrusted <c>.pth</c>
/// with it runs the attacker's code. This one is a small stack machine that never executes anything:
/// <c>GLOBAL</c>/<c>STACK_GLOBAL</c> resolve only names on an allow-list (<c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c>, <c>torch._utils._rebuild_parameter</c> and the legacy storage
/// classes such as <c>torch.FloatStorage</c>) to inert markers, and <c>REDUCE</c> on a marker builds a plain
/// value (a dictionary, a <see cref="PickledTensor"/>). Any other global is refused by name, and opcodes
/// outside the set torch uses (<c>INST</c>, <c>OBJ</c>, <c>NEWOBJ</c>, ...) are refused.</para>
/// <para>Work is linear in the pickle's length (each opcode is at least one byte and does constant work
/// beyond the items it pops), and the stack, mark nesting and memo are bounded, so a deep or cyclic pickle
/// fails with a clear error rather than exhausting memory or the call stack; nothing here recurses.</para>
/// </remarks>
internal sealed class RestrictedUnpickler
{
    /// <summary>Most values on the stack at once; a state dict needs a few thousand (batches of 1000 items).</summary>
    internal const int MaxStack = 100_000;

    /// <summary>Deepest MARK nesting; a state dict needs four.</summary>
    internal const int MaxMarks = 1_000;

    /// <summary>
    /// Most memo entries; a state dict needs about ten per tensor, so this allows 100 000 tensors. Each entry costs
    /// about 90 bytes of dictionary for one byte of pickle (MEMOIZE), so this also bounds that cost near 90 MB.
    /// </summary>
    internal const int MaxMemo = 1_000_000;

    private static readonly Dictionary<string, object> Allowed = BuildAllowList();

    private readonly byte[] _data;
    private readonly string _file;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Dictionary<string, PickledStorage> _storages = new(StringComparer.Ordinal);
    private int _pos;
    private int _opStart;

    private RestrictedUnpickler(byte[] data, string file)
    {
        _data = data;
        _file = file;
    }

    private enum Callable
    {
        OrderedDict,
        RebuildTensorV2,
        RebuildParameter,
    }

    /// <summary>
    /// Runs <paramref name="pickle"/> and returns the value it builds: strings, <see cref="long"/>,
    /// <see cref="double"/>, <see cref="bool"/>, null, <see cref="PickledTuple"/>, <see cref="List{T}"/>,
    /// <see cref="PickledDict"/> or <see cref="PickledTensor"/>. <paramref name="file"/> names the source in errors.
    /// </summary>
    /// <exception cref="WeightsFormatException">The pickle is malformed, too deep, or names a refused global.</exception>
    public static object? Load(byte[] pickle, string file) => new RestrictedUnpickler(pickle, file).Run();

    private static Dictionary<string, object> BuildAllowList()
    {
        var allowed = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["collections.OrderedDict"] = Callable.OrderedDict,
            ["torch._utils._rebuild_tensor_v2"] = Callable.RebuildTensorV2,
            ["torch._utils._rebuild_parameter"] = Callable.RebuildParameter,
        };

        // Storage classes are only type tags inside a persistent id; they are never called.
        (string Name, ElementType Type, int Size)[] storages =
        [
            ("FloatStorage", ElementType.F32, 4), ("HalfStorage", ElementType.F16, 2), ("BFloat16Storage", ElementType.BF16, 2),
            ("DoubleStorage", ElementType.Other, 8), ("LongStorage", ElementType.Other, 8), ("IntStorage", ElementType.Other, 4),
            ("ShortStorage", ElementType.Other, 2), ("CharStorage", ElementType.Other, 1), ("ByteStorage", ElementType.Other, 1),
            ("BoolStorage", ElementType.Other, 1),
        ];
        foreach (var (name, type, size) in storages)
        {
            allowed["torch." + name] = new StorageType(name, type, size);
        }

        return allowed;
    }

    private WeightsFormatException Error(string problem) =>
        new(_file, null, $"data.pkl byte {_opStart}: {problem}");

    private object? Run()
    {
        while (true)
        {
            _opStart = _pos;
            var op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = ReadByte();
                    if (protocol is < 2 or > 5)
                    {
                        throw Error($"pickle protocol {protocol} is not supported (torch writes 2 to 5).");
                    }

                    break;
                case 0x95: // FRAME: a length hint only
                    Read(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Error($"STOP with {_stack.Count} values and {_marks.Count} open marks; expected exactly one value.");
                    }

                    return _stack[0];
                case (byte)'(': // MARK
                    if (_marks.Count >= MaxMarks)
                    {
                        throw Error($"marks nested deeper than {MaxMarks}; a state dict needs only a few.");
                    }

                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'N': // NONE
                    Push(null);
                    break;
                case 0x88: // NEWTRUE
                    Push(true);
                    break;
                case 0x89: // NEWFALSE
                    Push(false);
                    break;
                case (byte)'K': // BININT1
                    Push((long)ReadByte());
                    break;
                case (byte)'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2)));
                    break;
                case (byte)'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4)));
                    break;
                case 0x8a: // LONG1
                    Push(ReadLong1());
                    break;
                case (byte)'G': // BINFLOAT (big-endian)
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8)));
                    break;
                case (byte)'X': // BINUNICODE
                    Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(ReadString(ReadByte()));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(Read(8))));
                    break;
                case (byte)')': // EMPTY_TUPLE
                    Push(new PickledTuple([]));
                    break;
                case (byte)'t': // TUPLE
                    Push(new PickledTuple(PopMark()));
                    break;
                case 0x85: // TUPLE1
                case 0x86: // TUPLE2
                case 0x87: // TUPLE3
                    Push(new PickledTuple(PopN(op - 0x84)));
                    break;
                case (byte)']': // EMPTY_LIST
                    Push(new List<object?>());
                    break;
                case (byte)'l': // LIST
                    Push(new List<object?>(PopMark()));
                    break;
                case (byte)'a': // APPEND
                    var item = Pop();
                    Peek<List<object?>>("APPEND").Add(item);
                    break;
                case (byte)'e': // APPENDS
                    var items = PopMark();
                    Peek<List<object?>>("APPENDS").AddRange(items);
                    break;
                case (byte)'}': // EMPTY_DICT
                    Push(new PickledDict());
                    break;
                case (byte)'d': // DICT
                    var dict = new PickledDict();
                    SetItems(dict, PopMark());
                    Push(dict);
                    break;
                case (byte)'s': // SETITEM
                    var pair = PopN(2);
                    Peek<PickledDict>("SETITEM").Set(pair[0], pair[1]);
                    break;
                case (byte)'u': // SETITEMS
                    var pairs = PopMark();
                    SetItems(Peek<PickledDict>("SETITEMS"), pairs);
                    break;
                case (byte)'q': // BINPUT
                    Memoize(ReadByte());
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)));
                    break;
                case 0x94: // MEMOIZE
                    Memoize(_memo.Count);
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(ReadByte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))));
                    break;
                case (byte)'c': // GLOBAL "module\nname\n"
                    var module = ReadLine();
                    Push(Resolve(module, ReadLine()));
                    break;
                case 0x93: // STACK_GLOBAL
                    var names = PopN(2);
                    if (names[0] is not string m || names[1] is not string n)
                    {
                        throw Error("STACK_GLOBAL needs two strings.");
                    }

                    Push(Resolve(m, n));
                    break;
                case (byte)'Q': // BINPERSID
                    Push(PersistentLoad(Pop()));
                    break;
                case (byte)'R': // REDUCE
                    var args = Pop();
                    var callable = Pop();
                    Push(Reduce(callable, args));
                    break;
                case (byte)'b': // BUILD
                    var state = Pop();
                    Build(Peek<object>("BUILD"), state);
                    break;
                default:
                    throw Error($"opcode 0x{op:x2} ({DescribeOpcode(op)}) is not one a tensor state dict uses; refused.");
            }
        }
    }

    private static string DescribeOpcode(byte op) =>
        op is >= 0x20 and < 0x7f ? $"'{(char)op}'" : "binary";

    private byte ReadByte()
    {
        if (_pos >= _data.Length)
        {
            throw Error("the pickle ends without STOP.");
        }

        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Read(long count)
    {
        if (count > _data.Length - _pos)
        {
            throw Error($"needs {count} more bytes but the pickle ends after {_data.Length - _pos}.");
        }

        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    private long ReadLong1()
    {
        var length = ReadByte();
        if (length > 8)
        {
            throw Error($"a {length}-byte integer is larger than any tensor needs.");
        }

        var bytes = Read(length);
        long value = 0;
        for (var i = length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        // Sign-extend from the top byte (two's complement, little-endian).
        if (length is > 0 and < 8 && (bytes[length - 1] & 0x80) != 0)
        {
            value -= 1L << (8 * length);
        }

        return value;
    }

    private string ReadString(ulong length)
    {
        var bytes = Read(length > int.MaxValue ? long.MaxValue : (long)length);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error("a string is not valid UTF-8.");
        }
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(256, _data.Length - _pos));
        if (end < 0)
        {
            throw Error("GLOBAL name is not a newline-terminated line of at most 255 characters.");
        }

        var line = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return line;
    }

    private void Push(object? value)
    {
        if (_stack.Count >= MaxStack)
        {
            throw Error($"more than {MaxStack} values on the stack; a state dict needs far fewer.");
        }

        _stack.Add(value);
    }

    private object? Pop()
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor)
        {
            throw Error("pops from an empty stack.");
        }

        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopN(int count)
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count - floor < count)
        {
            throw Error($"needs {count} values but the stack has {_stack.Count - floor}.");
        }

        var items = _stack.GetRange(_stack.Count - count, count).ToArray();
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    private object?[] PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Error("needs a MARK but none is open.");
        }

        var start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start).ToArray();
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private T Peek<T>(string opcode)
        where T : class
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor)
        {
            throw Error($"{opcode} on an empty stack.");
        }

        return _stack[^1] as T ?? throw Error($"{opcode} on {Describe(_stack[^1])}.");
    }

    private void SetItems(PickledDict dict, object?[] items)
    {
        if (items.Length % 2 != 0)
        {
            throw Error("SETITEMS/DICT with an odd number of values.");
        }

        for (var i = 0; i < items.Length; i += 2)
        {
            dict.Set(items[i], items[i + 1]);
        }
    }

    private void Memoize(long index)
    {
        if (_stack.Count == 0)
        {
            throw Error("memoizes from an empty stack.");
        }

        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index))
        {
            throw Error($"more than {MaxMemo} memo entries.");
        }

        _memo[index] = _stack[^1];
    }

    private object? Recall(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Error($"memo entry {index} was never stored.");

    private object Resolve(string module, string name)
    {
        var full = module + "." + name;
        return Allowed.TryGetValue(full, out var value)
            ? value
            : throw Error($"refused global '{full}': a state dict needs only tensors, so nothing else is imported.");
    }

    private PickledStorage PersistentLoad(object? pid)
    {
        if (pid is not PickledTuple { Items: ["storage", StorageType type, string key, string, long count] })
        {
            throw Error($"persistent id {Describe(pid)} is not ('storage', <storage type>, key, location, size).");
        }

        if (key.Length == 0 || key.Length > 64 || !key.All(char.IsAsciiLetterOrDigit))
        {
            throw Error($"storage key '{key}' is not a short alphanumeric name.");
        }

        if (count < 0 || count > Array.MaxLength)
        {
            throw Error($"storage '{key}' has {count} elements; at most {Array.MaxLength} are supported.");
        }

        var storage = new PickledStorage(key, type.Name, type.Type, type.Size, count);
        if (_storages.TryGetValue(key, out var existing))
        {
            return existing == storage
                ? existing
                : throw Error($"storage '{key}' is described twice, as {existing.TypeName}[{existing.Count}] and {type.Name}[{count}].");
        }

        _storages[key] = storage;
        return storage;
    }

    private object Reduce(object? callable, object? args)
    {
        if (args is not PickledTuple tuple)
        {
            throw Error($"REDUCE needs an argument tuple, not {Describe(args)}.");
        }

        switch (callable)
        {
            case Callable.OrderedDict when tuple.Items.Length == 0:
                return new PickledDict();
            case Callable.RebuildTensorV2:
                return RebuildTensor(tuple.Items);
            case Callable.RebuildParameter when tuple.Items is [PickledTensor data, bool, PickledDict]:
                return data;
            case Callable c:
                throw Error($"{Describe(c)} called with unexpected arguments.");
            default:
                throw Error($"REDUCE may only call an allowed constructor, not {Describe(callable)}.");
        }
    }

    private PickledTensor RebuildTensor(object?[] args)
    {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args is not [PickledStorage storage, long offset, PickledTuple size, PickledTuple stride, bool, PickledDict, ..]
            || args.Length > 7)
        {
            throw Error("_rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks[, metadata]).");
        }

        if (offset < 0)
        {
            throw Error($"a tensor's storage offset must be a non-negative integer (got {offset}).");
        }

        if (size.Items.Length != stride.Items.Length)
        {
            throw Error($"a tensor's size has {size.Items.Length} axes but its stride has {stride.Items.Length}.");
        }

        return new PickledTensor(storage, offset, Longs(size, "size"), Longs(stride, "stride"));
    }

    private long[] Longs(PickledTuple tuple, string what)
    {
        var values = new long[tuple.Items.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = tuple.Items[i] is long v and >= 0 ? v : throw Error($"a tensor's {what} must hold non-negative integers.");
        }

        return values;
    }

    private void Build(object target, object? state)
    {
        // OrderedDict.__reduce__ restores instance attributes (a module state dict's _metadata) with BUILD.
        if (target is not PickledDict || state is not (null or PickledDict))
        {
            throw Error($"BUILD of {Describe(target)} with {Describe(state)} is not allowed.");
        }
    }

    /// <summary>A short description of a pickled value's type, for error messages.</summary>
    internal static string Describe(object? value) => value switch
    {
        null => "None",
        string => "a string",
        long => "an integer",
        double => "a float",
        bool => "a bool",
        PickledTuple t => $"a {t.Items.Length}-tuple",
        List<object?> => "a list",
        PickledDict => "a dict",
        PickledTensor => "a tensor",
        PickledStorage => "a storage",
        StorageType s => "torch." + s.Name,
        Callable c => Allowed.First(a => Equals(a.Value, c)).Key,
        _ => value.GetType().Name,
    };

    private sealed record StorageType(string Name, ElementType Type, int Size);
}

/// <summary>A pickled tuple.</summary>
internal sealed record PickledTuple(object?[] Items);

/// <summary>A pickled dict or OrderedDict: its items in insertion order (a repeated key replaces the value).</summary>
internal sealed class PickledDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);

    /// <summary>The items in insertion order.</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>, as Python's <c>d[key] = value</c>.</summary>
    public void Set(object? key, object? value)
    {
        if (key is string s)
        {
            if (_stringKeys.TryGetValue(s, out var index))
            {
                _items[index] = new(key, value);
                return;
            }

            _stringKeys[s] = _items.Count;
        }

        _items.Add(new(key, value));
    }
}

/// <summary>
/// A storage named by a persistent id: the archive entry <c>data/{Key}</c> holds <see cref="Count"/>
/// elements of <see cref="Type"/>, each <see cref="ElementSize"/> bytes.
/// </summary>
internal sealed record PickledStorage(string Key, string TypeName, ElementType Type, int ElementSize, long Count);

/// <summary>A tensor as <c>_rebuild_tensor_v2</c> describes it: a strided view of a storage.</summary>
internal sealed record PickledTensor(PickledStorage Storage, long Offset, long[] Size, long[] Stride);
