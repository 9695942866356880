using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using CircuitDsl.Tensors;

namespace CircuitDsl.Weights;

/// <summary>
/// A <c>.safetensors</c> file (<see href="https://github.com/huggingface/safetensors"/>): an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then the data.
/// </summary>
/// <remarks>
/// Reading memory-maps the file copy-on-write. An aligned little-endian F32 tensor is a view of the mapped
/// pages (no copy); F16, BF16 and unaligned F32 tensors are widened into arrays. Every header field is
/// validated before any tensor is touched, and every problem is a <see cref="WeightsFormatException"/> naming
/// the file and tensor. Disposing releases the mapping; tensors that view it then refuse to give out spans.
/// Gaps between tensors' byte ranges are allowed (the format does not need them); overlaps are not.
/// </remarks>
internal sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The largest JSON header read; real headers are kilobytes.</summary>
    internal const long MaxHeaderBytes = 100L * 1024 * 1024;

    private const string MetadataKey = "__metadata__";

    private static readonly Dictionary<string, (ElementType Type, int Size)> Dtypes = new(StringComparer.Ordinal)
    {
        ["F32"] = (ElementType.F32, 4), ["F16"] = (ElementType.F16, 2), ["BF16"] = (ElementType.BF16, 2),
        ["F64"] = (ElementType.Other, 8), ["F8_E4M3"] = (ElementType.Other, 1), ["F8_E5M2"] = (ElementType.Other, 1),
        ["I64"] = (ElementType.Other, 8), ["I32"] = (ElementType.Other, 4), ["I16"] = (ElementType.Other, 2),
        ["I8"] = (ElementType.Other, 1), ["U64"] = (ElementType.Other, 8), ["U32"] = (ElementType.Other, 4),
        ["U16"] = (ElementType.Other, 2), ["U8"] = (ElementType.Other, 1), ["BOOL"] = (ElementType.Other, 1),
    };

    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private bool _pointerAcquired;
    private volatile bool _disposed;

    private SafetensorsFile(string path)
    {
        Path = path;
    }

    /// <summary>The file's path, as given.</summary>
    public string Path { get; }

    /// <summary>The loaded tensors by name (skipped entries are absent).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; private set; } = new Dictionary<string, Tensor>();

    /// <summary>The header's <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    /// <summary>Whether some tensor views the mapped file rather than a copy.</summary>
    public bool IsMapped => _map is not null;

    /// <summary>
    /// Opens and validates <paramref name="path"/>. Entries for which <paramref name="skip"/> is true are
    /// validated structurally (offsets, sizes) but not loaded, so their dtype may be any known one.
    /// </summary>
    /// <exception cref="WeightsFormatException">The file cannot be read or is not valid safetensors.</exception>
    public static SafetensorsFile Open(string path, Func<string, bool>? skip = null)
    {
        var file = new SafetensorsFile(path);
        try
        {
            file.Load(skip ?? (_ => false));
            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            throw new WeightsFormatException(path, null, "cannot read the file: " + e.Message, e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as F32 safetensors to <paramref name="stream"/>, in the given order,
    /// with the header padded with spaces so the data starts at an 8-byte boundary.
    /// </summary>
    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            var names = new HashSet<string>(StringComparer.Ordinal) { MetadataKey };
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                if (!names.Add(name))
                {
                    throw new ArgumentException($"Tensor name '{name}' is reserved or repeated.", nameof(tensors));
                }

                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)tensor.Length * sizeof(float);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var padding = (int)((8 - ((8 + header.WrittenCount) % 8)) % 8);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)(header.WrittenCount + padding));
        stream.Write(prefix);
        stream.Write(header.WrittenSpan);
        for (var i = 0; i < padding; i++)
        {
            stream.WriteByte((byte)' ');
        }

        var buffer = new byte[64 * 1024];
        foreach (var (_, tensor) in tensors)
        {
            var span = tensor.Span;
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(span));
                continue;
            }

            for (var start = 0; start < span.Length; start += buffer.Length / 4)
            {
                var count = Math.Min(buffer.Length / 4, span.Length - start);
                for (var i = 0; i < count; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), span[start + i]);
                }

                stream.Write(buffer, 0, count * 4);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseMapping();
    }

    /// <summary>Throws if the mapping has been released.</summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ReleaseMapping()
    {
        if (_pointerAcquired)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointerAcquired = false;
        }

        _view?.Dispose();
        _map?.Dispose();
        _view = null;
        _map = null;
    }

    private WeightsFormatException Error(string? tensor, string problem) => new(Path, tensor, problem);

    private void Load(Func<string, bool> skip)
    {
        var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        long length;
        ulong headerLength;
        byte[] headerBytes;
        try
        {
            length = stream.Length;
            if (length < 8)
            {
                throw Error(null, $"truncated: the file has {length} bytes, fewer than the 8-byte header length.");
            }

            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > (ulong)(length - 8))
            {
                throw Error(null, $"header length {headerLength} runs past the end of the file ({length} bytes).");
            }

            if (headerLength > MaxHeaderBytes)
            {
                throw Error(null, $"header length {headerLength} exceeds the {MaxHeaderBytes / (1024 * 1024)} MB limit.");
            }

            headerBytes = new byte[headerLength];
            stream.ReadExactly(headerBytes);
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        var dataStart = 8 + (long)headerLength;
        List<Entry> entries;
        try
        {
            entries = ParseHeader(headerBytes, length - dataStart, skip);
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        // The mapping is copy-on-write: a caller that writes into a weight changes its own pages, never the file,
        // and never faults on a read-only page.
        _map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.CopyOnWrite,
            HandleInheritability.None, leaveOpen: false);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
        byte* basePointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
        _pointerAcquired = true;
        basePointer += _view.PointerOffset;

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var viewsMapping = false;
        foreach (var entry in entries)
        {
            if (entry.Skipped)
            {
                continue;
            }

            var start = basePointer + dataStart + entry.Begin;
            var count = (int)entry.Count;
            Memory<float> memory;
            if (entry.Type == ElementType.F32 && BitConverter.IsLittleEndian && ((nuint)start % sizeof(float)) == 0)
            {
                memory = new MappedFloatMemory(this, (float*)start, count).Memory;
                viewsMapping = true;
            }
            else
            {
                var copy = new float[count];

                // In chunks, so a tensor of more than 2 GB of bytes never needs one oversized span.
                const int Chunk = 1 << 26;
                for (long done = 0; done < count; done += Chunk)
                {
                    var n = (int)Math.Min(count - done, Chunk);
                    ElementTypes.Widen(entry.Type, new ReadOnlySpan<byte>(start + (done * entry.ElementSize), n * entry.ElementSize),
                        copy.AsSpan((int)done, n));
                }

                memory = copy;
            }

            tensors.Add(entry.Name, new Tensor(memory, entry.Shape));
        }

        Tensors = tensors;
        if (!viewsMapping)
        {
            ReleaseMapping();
        }
    }

    private List<Entry> ParseHeader(byte[] header, long dataLength, Func<string, bool> skip)
    {
        if (!Utf8.IsValid(header))
        {
            throw Error(null, "the header is not valid UTF-8.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Error(null, $"the header is not valid JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error(null, $"the header must be a JSON object, not {Kind(root)}.");
            }

            var entries = new List<Entry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw Error(property.Name == MetadataKey ? null : property.Name, "appears twice in the header.");
                }

                if (property.Name == MetadataKey)
                {
                    Metadata = ParseMetadata(property.Value);
                    continue;
                }

                entries.Add(ParseEntry(property.Name, property.Value, dataLength, skip(property.Name)));
            }

            Entry? previous = null;
            foreach (var entry in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
            {
                if (previous is not null && entry.Begin < previous.End)
                {
                    throw Error(entry.Name,
                        $"data_offsets [{entry.Begin}, {entry.End}] overlap tensor '{previous.Name}' [{previous.Begin}, {previous.End}].");
                }

                previous = entry;
            }

            return entries;
        }
    }

    private Dictionary<string, string> ParseMetadata(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Error(null, $"{MetadataKey} must be an object of strings, not {Kind(value)}.");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw Error(null, $"{MetadataKey} entry '{item.Name}' must be a string, not {Kind(item.Value)}.");
            }

            metadata[item.Name] = item.Value.GetString()!;
        }

        return metadata;
    }

    private Entry ParseEntry(string name, JsonElement value, long dataLength, bool skipped)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Error(name, $"the header entry must be an object, not {Kind(value)}.");
        }

        JsonElement? dtype = null, shape = null, offsets = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype" when dtype is null: dtype = field.Value; break;
                case "shape" when shape is null: shape = field.Value; break;
                case "data_offsets" when offsets is null: offsets = field.Value; break;
                default: throw Error(name, $"unexpected or repeated header field '{field.Name}'.");
            }
        }

        if (dtype is not { ValueKind: JsonValueKind.String })
        {
            throw Error(name, dtype is null ? "the header entry has no 'dtype'." : $"'dtype' must be a string, not {Kind(dtype.Value)}.");
        }

        var dtypeName = dtype.Value.GetString()!;
        if (!Dtypes.TryGetValue(dtypeName, out var type))
        {
            throw Error(name, $"unknown dtype '{dtypeName}'.");
        }

        if (!skipped && !ElementTypes.IsLoadable(type.Type))
        {
            throw Error(name, $"dtype {dtypeName} is not supported: only F32, F16 and BF16 tensors can be loaded.");
        }

        if (shape is not { ValueKind: JsonValueKind.Array })
        {
            throw Error(name, shape is null ? "the header entry has no 'shape'." : $"'shape' must be an array, not {Kind(shape.Value)}.");
        }

        var dims = new List<int>();
        long count = 1;
        foreach (var d in shape.Value.EnumerateArray())
        {
            if (!TryGetInteger(d, out var size))
            {
                throw Error(name, $"shape {shape.Value.GetRawText()} must hold integers.");
            }

            if (size < 0)
            {
                throw Error(name, $"shape {shape.Value.GetRawText()} has a negative size.");
            }

            if (size > Array.MaxLength || (count = count * size) > Array.MaxLength)
            {
                throw Error(name, $"shape {shape.Value.GetRawText()} has too many elements for one tensor.");
            }

            dims.Add((int)size);
        }

        if (offsets is not { ValueKind: JsonValueKind.Array } || offsets.Value.GetArrayLength() != 2
            || !TryGetInteger(offsets.Value[0], out var begin) || !TryGetInteger(offsets.Value[1], out var end))
        {
            throw Error(name, offsets is null
                ? "the header entry has no 'data_offsets'."
                : $"'data_offsets' must be two integers, not {offsets.Value.GetRawText()}.");
        }

        if (begin < 0 || end < begin)
        {
            throw Error(name, $"data_offsets [{begin}, {end}] are not an ordered pair of non-negative offsets.");
        }

        if (end > dataLength)
        {
            throw Error(name, $"data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes).");
        }

        if (end - begin != count * type.Size)
        {
            throw Error(name,
                $"data_offsets [{begin}, {end}] hold {end - begin} bytes but shape {Tensor.FormatShape(dims.ToArray())} of {dtypeName} needs {count * type.Size}.");
        }

        return new Entry(name, type.Type, type.Size, dims.ToArray(), count, begin, end, skipped);
    }

    private static bool TryGetInteger(JsonElement e, out long value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value);
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture);

    private sealed record Entry(string Name, ElementType Type, int ElementSize, int[] Shape, long Count, long Begin, long End, bool Skipped);
}
