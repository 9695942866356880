using System.Runtime.InteropServices;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Weights;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void F16_values_widen_exactly()
    {
        // 1, -2, largest finite, smallest subnormal (2^-24), +inf, -0, nearest half to 1/3.
        var path = Write(SafetensorsBytes.Build(
            """{"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]}}""",
            SafetensorsBytes.UInt16s(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x3555)));

        using var file = SafetensorsFile.Open(path);

        var values = file.Tensors["h"].Span.ToArray();
        values.Should().Equal(1f, -2f, 65504f, MathF.Pow(2, -24), float.PositiveInfinity, -0f, 0.333251953125f);
        float.IsNegative(values[5]).Should().BeTrue("-0 keeps its sign");
        float.IsNaN(Read("F16", 0x7E00)).Should().BeTrue();
    }

    [Fact]
    public void BF16_values_widen_exactly()
    {
        // 1, -2, 3.140625, +inf, smallest subnormal (2^-133), nearest bfloat16 to 1/3.
        var path = Write(SafetensorsBytes.Build(
            """{"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}}""",
            SafetensorsBytes.UInt16s(0x3F80, 0xC000, 0x4049, 0x7F80, 0x0001, 0x3EAB)));

        using var file = SafetensorsFile.Open(path);

        var t = file.Tensors["b"];
        t.Shape.ToArray().Should().Equal(2, 3);
        t.Span.ToArray().Should().Equal(1f, -2f, 3.140625f, float.PositiveInfinity, (float)Math.Pow(2, -133), 0.333984375f);
        float.IsNaN(Read("BF16", 0x7FC0)).Should().BeTrue();
    }

    [Fact]
    public void Unaligned_F32_is_copied_correctly_and_aligned_F32_is_mapped()
    {
        // The header is padded so the data starts at an 8-byte boundary; a 1-element F16 first leaves the
        // F32 tensor at byte 2 of the data, which a float view cannot start at.
        var header = """{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"u":{"dtype":"F32","shape":[2],"data_offsets":[2,10]},"a":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}""";
        header += new string(' ', (8 - ((8 + header.Length) % 8)) % 8);
        var data = new byte[16];
        SafetensorsBytes.UInt16s(0x3C00).CopyTo(data, 0);
        SafetensorsBytes.Floats(1.5f, -7.25f).CopyTo(data, 2);
        SafetensorsBytes.Floats(42f).CopyTo(data, 12);

        using var file = SafetensorsFile.Open(Write(SafetensorsBytes.Build(header, data)));

        file.Tensors["u"].Span.ToArray().Should().Equal(1.5f, -7.25f);
        MemoryMarshal.TryGetArray<float>(file.Tensors["u"].Memory, out _).Should().BeTrue("unaligned floats are copied");
        file.Tensors["a"].Span.ToArray().Should().Equal(42f);
        MemoryMarshal.TryGetMemoryManager<float, MappedFloatMemory>(file.Tensors["a"].Memory, out _).Should().BeTrue();
        file.IsMapped.Should().BeTrue();
    }

    [Fact]
    public void Metadata_and_empty_tensors_are_accepted()
    {
        var path = Write(SafetensorsBytes.Build(
            """{"__metadata__":{"format":"pt","note":"x"},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"h":{"dtype":"F16","shape":[0],"data_offsets":[4,4]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""",
            SafetensorsBytes.Floats(2.5f)));

        using var file = SafetensorsFile.Open(path);

        file.Metadata.Should().BeEquivalentTo(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });
        file.Tensors["e"].Shape.ToArray().Should().Equal(0, 3);
        file.Tensors["h"].Length.Should().Be(0);
        file.Tensors["s"].Rank.Should().Be(0);
        file.Tensors["s"].Span[0].Should().Be(2.5f);
    }

    [Fact]
    public void Skipped_entries_may_have_other_dtypes_but_are_still_validated()
    {
        const string Header = """{"m":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""";
        var path = Write(SafetensorsBytes.Build(Header, [1, 0, 1, 1, .. SafetensorsBytes.Floats(3f)]));

        using (var file = SafetensorsFile.Open(path, name => name == "m"))
        {
            file.Tensors.Keys.Should().Equal("w");
        }

        var unskipped = () => SafetensorsFile.Open(path);
        unskipped.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain("dtype BOOL is not supported");

        var badSkipped = Write(SafetensorsBytes.Build(
            """{"m":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,9]}}""", new byte[9]));
        var open = () => SafetensorsFile.Open(badSkipped, _ => true);
        open.Should().Throw<WeightsFormatException>().Which.Tensor.Should().Be("m");
    }

    public static TheoryData<string, byte[], string?, string> CorruptFiles()
    {
        var f = SafetensorsBytes.Floats(1, 2, 3, 4, 5, 6);
        static byte[] B(string header, byte[] data, ulong? length = null) => SafetensorsBytes.Build(header, data, length);
        static byte[] Patch(byte[] bytes, int index, byte value)
        {
            bytes[index] = value;
            return bytes;
        }

        return new()
        {
            { "empty file", [], null, "truncated: the file has 0 bytes" },
            { "truncated length", [1, 2, 3, 4, 5], null, "truncated: the file has 5 bytes" },
            { "length 2^64-1", B("{}", f, ulong.MaxValue), null, "header length 18446744073709551615 runs past the end of the file" },
            { "length past EOF", B("{}", f, 1000), null, "header length 1000 runs past the end of the file (34 bytes)" },
            { "truncated data", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}""", f[..20]), "w", "run past the end of the data (20 bytes)" },
            { "bad JSON", B("""{"w":{"dtype":"F32",""", f), null, "the header is not valid JSON" },
            { "invalid UTF-8", Patch(B("{\"w\":1}", f), 10, 0xFF), null, "the header is not valid UTF-8" },
            { "header not an object", B("[1,2]", f), null, "the header must be a JSON object, not array" },
            { "entry not an object", B("""{"w":[0,24]}""", f), "w", "the header entry must be an object, not array" },
            { "unknown dtype", B("""{"w":{"dtype":"Q4_K","shape":[6],"data_offsets":[0,24]}}""", f), "w", "unknown dtype 'Q4_K'" },
            { "unsupported dtype", B("""{"w":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}""", f), "w", "dtype I64 is not supported: only F32, F16 and BF16" },
            { "dtype not a string", B("""{"w":{"dtype":4,"shape":[6],"data_offsets":[0,24]}}""", f), "w", "'dtype' must be a string, not number" },
            { "missing dtype", B("""{"w":{"shape":[6],"data_offsets":[0,24]}}""", f), "w", "the header entry has no 'dtype'" },
            { "missing shape", B("""{"w":{"dtype":"F32","data_offsets":[0,24]}}""", f), "w", "the header entry has no 'shape'" },
            { "missing offsets", B("""{"w":{"dtype":"F32","shape":[6]}}""", f), "w", "the header entry has no 'data_offsets'" },
            { "unknown field", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24],"x":1}}""", f), "w", "unexpected or repeated header field 'x'" },
            { "repeated field", B("""{"w":{"dtype":"F32","dtype":"F16","shape":[6],"data_offsets":[0,24]}}""", f), "w", "unexpected or repeated header field 'dtype'" },
            { "duplicate tensor", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}""", f), "w", "appears twice in the header" },
            { "negative shape", B("""{"w":{"dtype":"F32","shape":[-2,-3],"data_offsets":[0,24]}}""", f), "w", "shape [-2,-3] has a negative size" },
            { "fractional shape", B("""{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,24]}}""", f), "w", "shape [2.5] must hold integers" },
            { "shape overflow", B("""{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,24]}}""", f), "w", "has too many elements for one tensor" },
            { "shape product overflow", B("""{"w":{"dtype":"F32","shape":[2000000000,2000000000],"data_offsets":[0,24]}}""", f), "w", "has too many elements for one tensor" },
            { "size mismatch", B("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}}""", f), "w", "data_offsets [0, 24] hold 24 bytes but shape [2, 2] of F32 needs 16" },
            { "offsets past end", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":[8,32]}}""", f), "w", "data_offsets [8, 32] run past the end of the data (24 bytes)" },
            { "huge offsets", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":[9223372036854775000,9223372036854775024]}}""", f), "w", "run past the end of the data" },
            { "offsets reversed", B("""{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", f), "w", "data_offsets [8, 0] are not an ordered pair" },
            { "negative offset", B("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", f), "w", "data_offsets [-4, 0] are not an ordered pair" },
            { "three offsets", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,12,24]}}""", f), "w", "'data_offsets' must be two integers, not [0,12,24]" },
            { "string offsets", B("""{"w":{"dtype":"F32","shape":[6],"data_offsets":["0","24"]}}""", f), "w", "'data_offsets' must be two integers" },
            { "overlap", B("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}}""", f), "b", "data_offsets [12, 24] overlap tensor 'a' [0, 16]" },
            { "same range twice", B("""{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}""", f), "b", "overlap tensor 'a'" },
            { "metadata not strings", B("""{"__metadata__":{"format":1}}""", f), null, "__metadata__ entry 'format' must be a string, not number" },
            { "metadata not an object", B("""{"__metadata__":"pt"}""", f), null, "__metadata__ must be an object of strings, not string" },
            { "too deep", B(new string('[', 100) + new string(']', 100), f), null, "the header is not valid JSON" },
        };
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Corrupt_files_give_a_specific_WeightsFormatException(string why, byte[] bytes, string? tensor, string problem)
    {
        var path = Write(bytes);

        var open = () => SafetensorsFile.Open(path);

        var error = open.Should().Throw<WeightsFormatException>(why).Which;
        error.File.Should().Be(path);
        error.Tensor.Should().Be(tensor);
        error.Problem.Should().Contain(problem);
        error.Message.Should().StartWith(path);
    }

    [Fact]
    public void A_header_length_over_the_cap_is_refused_before_it_is_read()
    {
        // A sparse file: 200 MB long on paper, so the 150 MB header fits inside it but exceeds the 100 MB cap.
        var path = _temp.File("huge.safetensors");
        using (var s = File.Create(path))
        {
            s.Write(BitConverter.GetBytes(150UL * 1024 * 1024));
            s.SetLength(200L * 1024 * 1024);
        }

        var open = () => SafetensorsFile.Open(path);

        open.Should().Throw<WeightsFormatException>().Which.Problem.Should().Be("header length 157286400 exceeds the 100 MB limit.");
    }

    [Fact]
    public void A_missing_file_is_a_WeightsFormatException()
    {
        var path = _temp.File("absent.safetensors");

        var open = () => SafetensorsFile.Open(path);

        open.Should().Throw<WeightsFormatException>().Which.Problem.Should().StartWith("cannot read the file");
    }

    [Fact]
    public void Random_corruption_never_escapes_as_another_exception_type()
    {
        var original = File.ReadAllBytes(Path.Combine(WeightsFixtures.Folder("ln_mlp_st"), "model.safetensors"));
        var random = new Random(1234);
        for (var trial = 0; trial < 200; trial++)
        {
            var bytes = (byte[])original.Clone();
            if (trial % 3 == 0)
            {
                bytes = bytes[..random.Next(bytes.Length)];
            }
            else
            {
                // Most flips land in the header, where the parsing is.
                for (var k = 0; k < 1 + random.Next(4); k++)
                {
                    bytes[random.Next(Math.Min(bytes.Length, 1200))] ^= (byte)(1 << random.Next(8));
                }
            }

            var path = Write(bytes);
            try
            {
                using var file = SafetensorsFile.Open(path);
            }
            catch (WeightsFormatException)
            {
            }
        }
    }

    private float Read(string dtype, ushort bits)
    {
        var path = Write(SafetensorsBytes.Build($$$"""{"x":{"dtype":"{{{dtype}}}","shape":[1],"data_offsets":[0,2]}}""", SafetensorsBytes.UInt16s(bits)));
        using var file = SafetensorsFile.Open(path);
        return file.Tensors["x"].Span[0];
    }

    private string Write(byte[] bytes)
    {
        var path = _temp.File(Guid.NewGuid().ToString("N") + ".safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
