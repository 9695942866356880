using System.Globalization;
using System.IO.Compression;
using CircuitDsl.Tensors;

namespace CircuitDsl.Weights;

/// <summary>
/// Reads a state dict written by <c>torch.save</c> in PyTorch's zip format (torch ≥ 1.6): <c>{archive}/data.pkl</c>
/// holds the pickled dictionary and <c>{archive}/data/{key}</c> the raw little-endian bytes of each storage.
/// </summary>
/// <remarks>
/// The pickle is run by <see cref="RestrictedUnpickler"/>, never by anything that can import or call code.
/// The archive is treated as hostile too: entry names with <c>..</c>, backslashes or absolute paths are
/// refused (nothing is ever written to disk, but such an archive was not made by torch), the pickle is read
/// only up to <see cref="MaxPickleBytes"/>, and a storage entry is read only if its declared length is exactly
/// what the pickled storage needs and it does not decompress more than <see cref="MaxCompressionRatio"/>-fold
/// (torch stores entries uncompressed). Tensors may be any strided view of a storage (torch writes
/// transposes and slices as such views); non-contiguous ones are materialised into row-major copies.
/// </remarks>
internal static class PthFile
{
    /// <summary>The largest <c>data.pkl</c> read; a state dict's pickle is about 100 bytes per tensor.</summary>
    internal const long MaxPickleBytes = 64L * 1024 * 1024;

    /// <summary>The largest uncompressed-to-compressed ratio accepted for a storage entry.</summary>
    internal const long MaxCompressionRatio = 64;

    /// <summary>
    /// How many times over the tensors may view their storages in total (tied weights view one twice); beyond
    /// this, a small pickle could demand unbounded copies of one storage.
    /// </summary>
    internal const int MaxViewRepeat = 4;

    private const double MinViewAllowance = 1 << 16;

    /// <summary>Bytes of <c>data.pkl</c> accepted at any compression ratio.</summary>
    private const long MinPickleAllowance = 1 << 20;

    /// <summary>
    /// Reads the state dict in <paramref name="path"/>. Entries for which <paramref name="skip"/> is true
    /// (buffers such as the causal mask) are not loaded, so their dtype does not matter.
    /// </summary>
    /// <exception cref="WeightsFormatException">The file is not a readable, safe PyTorch state dict.</exception>
    public static Dictionary<string, Tensor> Read(string path, Func<string, bool>? skip = null)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> magic = stackalloc byte[4];
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || !magic.SequenceEqual("PK\x03\x04"u8))
            {
                throw new WeightsFormatException(path, null,
                    "not a zip archive. Only torch.save's zip format (torch 1.6 and later) is read; re-save a legacy "
                    + "file with a current torch (its plain pickles cannot be read safely).");
            }

            stream.Position = 0;
            using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
            return new Reader(path, archive).Read(skip ?? (_ => false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            throw new WeightsFormatException(path, null, "cannot read the archive: " + e.Message, e);
        }
    }

    private sealed class Reader(string path, ZipArchive archive)
    {
        private readonly Dictionary<string, float[]> _storages = new(StringComparer.Ordinal);
        private string _prefix = "";

        public Dictionary<string, Tensor> Read(Func<string, bool> skip)
        {
            var pickle = ReadPickle();
            var root = RestrictedUnpickler.Load(pickle, path);
            if (root is not PickledDict dict)
            {
                throw new WeightsFormatException(path, null,
                    $"data.pkl holds {RestrictedUnpickler.Describe(root)}, not a state dict (a dictionary of tensors).");
            }

            var wanted = new List<(string Name, PickledTensor Tensor)>();
            foreach (var (key, value) in dict.Items)
            {
                if (key is not string name)
                {
                    throw new WeightsFormatException(path, null, $"a state dict key is {RestrictedUnpickler.Describe(key)}, not a string.");
                }

                if (skip(name))
                {
                    continue;
                }

                var tensor = value as PickledTensor
                    ?? throw new WeightsFormatException(path, name, $"is {RestrictedUnpickler.Describe(value)}, not a tensor.");
                if (tensor.Size.Aggregate(1.0, (n, d) => n * d) > Array.MaxLength)
                {
                    throw new WeightsFormatException(path, name,
                        $"size ({string.Join(", ", tensor.Size)}) has too many elements for one tensor.");
                }

                wanted.Add((name, tensor));
            }

            // Views of one storage could otherwise turn a few bytes of pickle into unbounded copies.
            var needed = wanted.Sum(w => w.Tensor.Size.Aggregate(1.0, (n, d) => n * d));
            var held = wanted.Select(w => w.Tensor.Storage).Distinct().Sum(s => (double)s.Count);
            if (needed > (MaxViewRepeat * held) + MinViewAllowance)
            {
                throw new WeightsFormatException(path, null,
                    $"the tensors need {needed.ToString("0", CultureInfo.InvariantCulture)} elements but their storages hold only {held.ToString("0", CultureInfo.InvariantCulture)}; views that repeat storage more than {MaxViewRepeat} times over are refused.");
            }

            // A storage that backs exactly one whole tensor becomes that tensor's memory without another copy.
            var uses = wanted.GroupBy(w => w.Tensor.Storage.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (name, tensor) in wanted)
            {
                tensors[name] = Materialise(name, tensor, uses[tensor.Storage.Key] == 1);
            }

            return tensors;
        }

        private byte[] ReadPickle()
        {
            ZipArchiveEntry? pickle = null;
            foreach (var entry in archive.Entries)
            {
                var name = entry.FullName;
                if (name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal)
                    || name.Split('/').Contains(".."))
                {
                    throw new WeightsFormatException(path, null,
                        $"refused archive entry '{name}': torch never writes absolute paths or '..' segments.");
                }

                var slash = name.IndexOf('/', StringComparison.Ordinal);
                if (slash > 0 && name[(slash + 1)..] == "data.pkl")
                {
                    if (pickle is not null)
                    {
                        throw new WeightsFormatException(path, null,
                            $"the archive has two pickles, '{pickle.FullName}' and '{name}'.");
                    }

                    pickle = entry;
                    _prefix = name[..(slash + 1)];
                }
            }

            if (pickle is null)
            {
                throw new WeightsFormatException(path, null,
                    "the zip archive has no '<archive>/data.pkl', so it was not written by torch.save.");
            }

            if (pickle.Length > MaxPickleBytes)
            {
                throw new WeightsFormatException(path, null,
                    $"'{pickle.FullName}' declares {pickle.Length} bytes, over the {MaxPickleBytes / (1024 * 1024)} MB limit for a state dict's pickle.");
            }

            // The unpickler's memory grows with the pickle (memo, list slots), so a highly compressed pickle would
            // turn kilobytes of file into a gigabyte; the storages' ratio applies, with room for small pickles.
            if (pickle.Length > (pickle.CompressedLength * MaxCompressionRatio) + MinPickleAllowance)
            {
                throw new WeightsFormatException(path, null,
                    $"'{pickle.FullName}' expands {pickle.CompressedLength} bytes to {pickle.Length}, more than {MaxCompressionRatio}-fold; refused as a possible zip bomb.");
            }

            return ReadExactly(pickle, null);
        }

        private Tensor Materialise(string name, PickledTensor tensor, bool soleUse)
        {
            var storage = tensor.Storage;
            if (!ElementTypes.IsLoadable(storage.Type))
            {
                throw new WeightsFormatException(path, name,
                    $"{storage.TypeName} is not supported: only float32, float16 and bfloat16 tensors can be loaded.");
            }

            var shape = new int[tensor.Size.Length];
            long count = 1, last = tensor.Offset;
            try
            {
                for (var i = 0; i < shape.Length; i++)
                {
                    if (tensor.Size[i] > Array.MaxLength || (count = checked(count * tensor.Size[i])) > Array.MaxLength)
                    {
                        throw new WeightsFormatException(path, name, "has too many elements for one tensor.");
                    }

                    shape[i] = (int)tensor.Size[i];
                    if (tensor.Size[i] > 0)
                    {
                        last = checked(last + ((tensor.Size[i] - 1) * tensor.Stride[i]));
                    }
                }
            }
            catch (OverflowException)
            {
                last = long.MaxValue;
            }

            if (count > 0 && last >= storage.Count)
            {
                throw new WeightsFormatException(path, name,
                    $"its view (offset {tensor.Offset}, size {Tensor.FormatShape(shape)}, stride ({string.Join(", ", tensor.Stride)})) "
                    + $"reaches past the end of its storage of {storage.Count} elements.");
            }

            if (count == 0)
            {
                return new Tensor(shape);
            }

            var data = LoadStorage(name, storage);
            if (IsContiguous(tensor))
            {
                if (soleUse && tensor.Offset == 0 && count == data.Length)
                {
                    return new Tensor(data, shape);
                }

                return new Tensor(data.AsSpan((int)tensor.Offset, (int)count).ToArray(), shape);
            }

            return new Tensor(Gather(data, tensor, (int)count), shape);
        }

        private static bool IsContiguous(PickledTensor tensor)
        {
            long expected = 1;
            for (var i = tensor.Size.Length - 1; i >= 0; i--)
            {
                if (tensor.Size[i] != 1 && tensor.Stride[i] != expected)
                {
                    return false;
                }

                expected *= tensor.Size[i];
            }

            return true;
        }

        private static float[] Gather(float[] data, PickledTensor tensor, int count)
        {
            var result = new float[count];
            var rank = tensor.Size.Length;
            var index = new long[rank];
            var source = tensor.Offset;
            for (var n = 0; n < count; n++)
            {
                result[n] = data[source];
                for (var axis = rank - 1; axis >= 0; axis--)
                {
                    source += tensor.Stride[axis];
                    if (++index[axis] < tensor.Size[axis])
                    {
                        break;
                    }

                    source -= tensor.Stride[axis] * tensor.Size[axis];
                    index[axis] = 0;
                }
            }

            return result;
        }

        private float[] LoadStorage(string tensorName, PickledStorage storage)
        {
            if (_storages.TryGetValue(storage.Key, out var cached))
            {
                return cached;
            }

            var entryName = _prefix + "data/" + storage.Key;
            var entry = archive.GetEntry(entryName)
                ?? throw new WeightsFormatException(path, tensorName, $"its storage '{entryName}' is missing from the archive.");
            var needed = storage.Count * storage.ElementSize;
            if (needed > Array.MaxLength)
            {
                throw new WeightsFormatException(path, tensorName,
                    $"its storage of {needed} bytes is too large to read from a .pth; save the model as safetensors.");
            }

            if (entry.Length != needed)
            {
                throw new WeightsFormatException(path, tensorName,
                    $"archive entry '{entryName}' declares {entry.Length} bytes but its storage ({storage.TypeName} of {storage.Count} elements) needs {needed}.");
            }

            if (entry.Length > (entry.CompressedLength * MaxCompressionRatio) + 1024)
            {
                throw new WeightsFormatException(path, tensorName,
                    $"archive entry '{entryName}' expands {entry.CompressedLength} bytes to {entry.Length}, more than {MaxCompressionRatio}-fold; refused as a possible zip bomb.");
            }

            var bytes = ReadExactly(entry, tensorName);
            var data = new float[storage.Count];
            ElementTypes.Widen(storage.Type, bytes, data);
            _storages[storage.Key] = data;
            return data;
        }

        private byte[] ReadExactly(ZipArchiveEntry entry, string? tensorName)
        {
            // The buffer grows with what the entry really holds, so a declared length alone (a few header bytes)
            // never allocates its size.
            var buffer = new byte[Math.Min(entry.Length, 1 << 20)];
            using var stream = entry.Open();
            var read = 0;
            while (read < entry.Length)
            {
                if (read == buffer.Length)
                {
                    Array.Resize(ref buffer, (int)Math.Min(entry.Length, 2L * buffer.Length));
                }

                var n = stream.Read(buffer, read, buffer.Length - read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            if (read < entry.Length)
            {
                throw new WeightsFormatException(path, tensorName,
                    $"archive entry '{entry.FullName}' ends after {read} of its declared {entry.Length} bytes.");
            }

            if (stream.ReadByte() != -1)
            {
                throw new WeightsFormatException(path, tensorName,
                    $"archive entry '{entry.FullName}' holds more than its declared {entry.Length} bytes.");
            }

            // .NET's entry stream stops at the declared length, so an entry that inflates to more than it declares,
            // or whose bytes were corrupted, is caught here: the CRC covers the whole of what was written.
            var crc = Crc32.Compute(buffer);
            if (crc != entry.Crc32)
            {
                throw new WeightsFormatException(path, tensorName,
                    $"archive entry '{entry.FullName}' fails its CRC-32 check (0x{crc:x8}, declared 0x{entry.Crc32:x8}): the file is corrupt.");
            }

            return buffer;
        }
    }
}
