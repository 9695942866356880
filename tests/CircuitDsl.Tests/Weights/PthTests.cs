using System.IO.Compression;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Weights;

public sealed class PthTests : IDisposable
{
    private static readonly byte[] W = PthBytes.FloatBytes(6, i => i + 0.5f);

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("os_system.pth", "posix.system")]
    [InlineData("popen.pth", "commands.Popen")] // protocol 2 writes Python 2 names for subprocess and builtins
    [InlineData("eval.pth", "__builtin__.eval")]
    [InlineData("popen_p4.pth", "subprocess.Popen")]
    [InlineData("eval_p4.pth", "builtins.eval")]
    [InlineData("getattr_p4.pth", "builtins.getattr")]
    public void Pickles_that_would_run_code_are_refused_by_the_name_of_their_global(string file, string global)
    {
        var path = WeightsFixtures.Malicious(file);

        var read = () => PthFile.Read(path);

        var error = read.Should().Throw<WeightsFormatException>().Which;
        error.File.Should().Be(path);
        error.Problem.Should().Contain($"refused global '{global}': a state dict needs only tensors");
        File.Exists("/tmp/circuitdsl-pwned").Should().BeFalse();
    }

    [Fact]
    public void A_malicious_pth_in_a_model_folder_is_refused_by_Load()
    {
        using var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_pth"));
        File.Copy(WeightsFixtures.Malicious("os_system.pth"), temp.File("model.pth"), overwrite: true);

        var load = () => ModelFolder.Load(temp.Path);

        load.Should().Throw<WeightsFormatException>().WithMessage($"{temp.File("model.pth")}: data.pkl byte 21: refused global 'posix.system'*");
    }

    [Theory]
    [InlineData("deep_marks.pth", "marks nested deeper than 1000")]
    [InlineData("deep_lists.pth", "more than 100000 values on the stack")]
    [InlineData("cyclic.pth", "data.pkl holds a list, not a state dict")]
    [InlineData("legacy.pth", "not a zip archive")]
    public void Deep_cyclic_and_legacy_pickles_fail_cleanly(string file, string problem)
    {
        var read = () => PthFile.Read(WeightsFixtures.Malicious(file));

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain(problem);
    }

    [Fact]
    public void A_module_state_dict_with_metadata_restored_by_BUILD_is_read()
    {
        // torch.save(nn.Linear(2, 3).state_dict()): OrderedDict plus _metadata set through BUILD.
        var tensors = PthFile.Read(WeightsFixtures.Folder("module_state_dict") + "/model.pth");

        tensors.Keys.Should().Equal("weight", "bias");
        tensors["weight"].Shape.ToArray().Should().Equal(3, 2);
        tensors["bias"].Shape.ToArray().Should().Equal(3);
    }

    [Fact]
    public void Saved_parameters_are_unwrapped_from_rebuild_parameter()
    {
        // torch.save({"w": nn.Parameter(torch.arange(6.0).reshape(2, 3))})
        var tensors = PthFile.Read(WeightsFixtures.Folder("parameters") + "/model.pth");

        tensors["w"].Shape.ToArray().Should().Equal(2, 3);
        tensors["w"].Span.ToArray().Should().Equal(0f, 1f, 2f, 3f, 4f, 5f);
    }

    [Fact]
    public void Ignored_buffers_of_other_dtypes_are_skipped_but_other_tensors_must_be_float()
    {
        var fixture = WeightsFixtures.Folder("attn_only_pth") + "/model.pth";

        var withSkip = PthFile.Read(fixture, name => name.EndsWith(".attn.mask", StringComparison.Ordinal));
        withSkip.Should().ContainKey("blocks.0.attn.IGNORE").And.NotContainKey("blocks.0.attn.mask");
        withSkip["blocks.0.attn.IGNORE"].Span[0].Should().Be(-1e5f);

        var read = () => PthFile.Read(fixture);
        var error = read.Should().Throw<WeightsFormatException>().Which;
        error.Tensor.Should().Be("blocks.0.attn.mask");
        error.Problem.Should().Be("BoolStorage is not supported: only float32, float16 and bfloat16 tensors can be loaded.");
    }

    [Fact]
    public void Hand_built_pickle_with_strided_view_and_offset_is_materialised_row_major()
    {
        // Storage of 6 floats [0.5 .. 5.5]: t is the transpose of the [2, 3] matrix; s is its last two columns (offset 1).
        var pkl = PickleBuilder.StateDict("t", "FloatStorage", "0", 6, 0, [3, 2], [1, 3]);
        var sliced = PickleBuilder.StateDict("s", "FloatStorage", "0", 6, 1, [2, 2], [3, 1]);

        var t = ReadZip(("archive/data.pkl", pkl), ("archive/data/0", W))["t"];
        var s = ReadZip(("archive/data.pkl", sliced), ("archive/data/0", W))["s"];

        t.Span.ToArray().Should().Equal(0.5f, 3.5f, 1.5f, 4.5f, 2.5f, 5.5f);
        s.Span.ToArray().Should().Equal(1.5f, 2.5f, 4.5f, 5.5f);
    }

    public static TheoryData<string, byte[], string?, string> BadPickles()
    {
        static byte[] Dict(string storageType, int count, int offset, int[] size, int[] stride, string key = "0") =>
            PickleBuilder.StateDict("w", storageType, key, count, offset, size, stride);
        return new()
        {
            { "view past storage", Dict("FloatStorage", 6, 4, [3], [1]), "w", "reaches past the end of its storage of 6 elements" },
            { "stride past storage", Dict("FloatStorage", 6, 0, [2, 3], [4, 1]), "w", "reaches past the end of its storage" },
            { "huge stride", Dict("FloatStorage", 6, 0, [2, 2], [int.MaxValue, 1]), "w", "reaches past the end" },
            { "wrong storage size", Dict("FloatStorage", 5, 0, [5], [1]), "w", "declares 24 bytes but its storage (FloatStorage of 5 elements) needs 20" },
            { "missing storage", Dict("FloatStorage", 6, 0, [6], [1], key: "7"), "w", "its storage 'archive/data/7' is missing from the archive" },
            { "storage key path", Dict("FloatStorage", 6, 0, [6], [1], key: "../0"), null, "storage key '../0' is not a short alphanumeric name" },
            { "integer dtype", Dict("LongStorage", 3, 0, [3], [1]), "w", "LongStorage is not supported" },
            { "unknown storage", Dict("ComplexFloatStorage", 3, 0, [3], [1]), null, "refused global 'torch.ComplexFloatStorage'" },
            { "negative size", Dict("FloatStorage", 6, 0, [-1], [1]), null, "a tensor's size must hold non-negative integers" },
            { "size stride mismatch", Dict("FloatStorage", 6, 0, [6], [1, 1]), null, "size has 1 axes but its stride has 2" },
            { "INST opcode", new PickleBuilder().Op((byte)'i').Op("os\nsystem\n"u8.ToArray()).Bytes, null, "opcode 0x69 ('i') is not one a tensor state dict uses" },
            { "NEWOBJ opcode", new PickleBuilder().Global("collections", "OrderedDict").Op((byte)')', 0x81).Bytes, null, "opcode 0x81 (binary)" },
            { "calling a storage", new PickleBuilder().Global("torch", "FloatStorage").Op((byte)')').Reduce().Bytes, null, "REDUCE may only call an allowed constructor, not torch.FloatStorage" },
            { "OrderedDict with args", new PickleBuilder().Global("collections", "OrderedDict").Str("x").Op(0x85).Reduce().Bytes, null, "collections.OrderedDict called with unexpected arguments" },
            { "no STOP", new PickleBuilder().EmptyDict().Bytes, null, "the pickle ends without STOP" },
            { "string past end", new PickleBuilder().Op((byte)'X', 0xff, 0xff, 0xff, 0x7f).Bytes, null, "needs 2147483647 more bytes" },
            { "bad memo", new PickleBuilder().Op((byte)'h', 9).Bytes, null, "memo entry 9 was never stored" },
            { "empty stack", new PickleBuilder().Op((byte)'s').Bytes, null, "needs 2 values but the stack has 0" },
            { "two values at STOP", new PickleBuilder().EmptyDict().EmptyDict().Stop().Bytes, null, "STOP with 2 values" },
            { "non-string key", new PickleBuilder().EmptyDict().Int(3).EmptyDict().SetItem().Stop().Bytes, null, "a state dict key is an integer, not a string" },
            { "non-tensor value", new PickleBuilder().EmptyDict().Str("w").Int(3).SetItem().Stop().Bytes, "w", "is an integer, not a tensor" },
            { "BUILD on a tensor", new PickleBuilder().EmptyDict().Str("w").Tensor("FloatStorage", "0", 6, 0, [6], [1]).EmptyDict().Op((byte)'b').SetItem().Stop().Bytes, null, "BUILD of a tensor with a dict is not allowed" },
            { "protocol 1", [0x80, 1, (byte)'.'], null, "pickle protocol 1 is not supported" },
            { "GLOBAL without newline", new PickleBuilder().Op((byte)'c').Op(new byte[300]).Bytes, null, "GLOBAL name is not a newline-terminated line" },
            { "LONG1 too large", new PickleBuilder().Op(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9).Bytes, null, "a 9-byte integer is larger than any tensor needs" },
        };
    }

    [Theory]
    [MemberData(nameof(BadPickles))]
    public void Bad_pickles_give_a_specific_WeightsFormatException(string why, byte[] pickle, string? tensor, string problem)
    {
        var read = () => ReadZip(("archive/data.pkl", pickle), ("archive/data/0", W));

        var error = read.Should().Throw<WeightsFormatException>(why).Which;
        error.Tensor.Should().Be(tensor);
        error.Problem.Should().Contain(problem);
    }

    [Fact]
    public void Persistent_storages_described_twice_differently_are_refused()
    {
        var pkl = new PickleBuilder().EmptyDict()
            .Str("a").Tensor("FloatStorage", "0", 6, 0, [6], [1]).SetItem()
            .Str("b").Tensor("HalfStorage", "0", 6, 0, [6], [1]).SetItem().Stop().Bytes;

        var read = () => ReadZip(("archive/data.pkl", pkl), ("archive/data/0", W));

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should()
            .Contain("storage '0' is described twice, as FloatStorage[6] and HalfStorage[6]");
    }

    [Fact]
    public void Two_tensors_sharing_a_storage_get_their_own_copies()
    {
        var pkl = new PickleBuilder().EmptyDict()
            .Str("a").Tensor("FloatStorage", "0", 6, 0, [6], [1]).SetItem()
            .Str("b").Tensor("FloatStorage", "0", 6, 3, [3], [1]).SetItem().Stop().Bytes;

        var tensors = ReadZip(("archive/data.pkl", pkl), ("archive/data/0", W));
        tensors["a"].Span[3] = 100f;

        tensors["b"].Span.ToArray().Should().Equal(3.5f, 4.5f, 5.5f);
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("archive/../../evil")]
    [InlineData("/etc/passwd")]
    [InlineData("archive\\data\\0")]
    [InlineData("C:/evil")]
    public void Archive_entries_with_traversal_or_absolute_paths_are_refused(string entry)
    {
        var pkl = PickleBuilder.StateDict("w", "FloatStorage", "0", 6, 0, [6], [1]);

        var read = () => ReadZip(("archive/data.pkl", pkl), ("archive/data/0", W), (entry, [1]));

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Be(
            $"refused archive entry '{entry}': torch never writes absolute paths or '..' segments.");
    }

    [Fact]
    public void A_storage_entry_that_decompresses_far_beyond_its_size_is_refused_before_it_is_read()
    {
        // 4 M floats of zeros deflate to a few kilobytes: the pickle and the declared length agree, the ratio does not.
        const int Count = 4 * 1024 * 1024;
        var pkl = PickleBuilder.StateDict("w", "FloatStorage", "0", Count, 0, [Count], [1]);
        var path = _temp.File("bomb.pth");
        PthBytes.Write(path, ("archive/data.pkl", pkl, CompressionLevel.NoCompression),
            ("archive/data/0", new byte[Count * 4], CompressionLevel.SmallestSize));

        var read = () => PthFile.Read(path);

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain("more than 64-fold; refused as a possible zip bomb");
    }

    [Fact]
    public void A_pickle_entry_over_the_size_cap_is_refused_before_it_is_read()
    {
        var path = _temp.File("bigpickle.pth");
        PthBytes.Write(path, ("archive/data.pkl", new byte[(64 * 1024 * 1024) + 1], CompressionLevel.SmallestSize));

        var read = () => PthFile.Read(path);

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain("over the 64 MB limit");
    }

    [Theory]
    [InlineData(new[] { "archive/version" }, "has no '<archive>/data.pkl'")]
    [InlineData(new[] { "a/data.pkl", "b/data.pkl" }, "the archive has two pickles, 'a/data.pkl' and 'b/data.pkl'")]
    public void Archives_without_exactly_one_pickle_are_refused(string[] names, string problem)
    {
        var pkl = PickleBuilder.StateDict("w", "FloatStorage", "0", 6, 0, [6], [1]);

        var read = () => ReadZip(names.Select(n => (n, pkl)).ToArray());

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain(problem);
    }

    [Fact]
    public void An_entry_in_an_unsupported_compression_method_is_a_WeightsFormatException()
    {
        var pkl = PickleBuilder.StateDict("w", "FloatStorage", "0", 6, 0, [6], [1]);
        var path = _temp.File("odd.pth");
        PthBytes.Write(path, ("archive/data.pkl", pkl, CompressionLevel.NoCompression));
        var bytes = File.ReadAllBytes(path);
        // Compression method 14 (LZMA), which System.IO.Compression does not implement, in both headers.
        bytes[IndexOf(bytes, "PK\x03\x04"u8) + 8] = 14;
        bytes[IndexOf(bytes, "PK\x01\x02"u8) + 10] = 14;
        File.WriteAllBytes(path, bytes);

        var read = () => PthFile.Read(path);

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().StartWith("cannot read the archive: ");
    }

    [Fact]
    public void Random_corruption_never_escapes_as_another_exception_type()
    {
        var original = File.ReadAllBytes(WeightsFixtures.Folder("ln_mlp_pth") + "/model.pth");
        var random = new Random(99);
        for (var trial = 0; trial < 200; trial++)
        {
            var bytes = (byte[])original.Clone();
            if (trial % 4 == 0)
            {
                bytes = bytes[..random.Next(bytes.Length)];
            }
            else
            {
                for (var k = 0; k < 1 + random.Next(4); k++)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }
            }

            var path = _temp.File($"fuzz{trial}.pth");
            File.WriteAllBytes(path, bytes);
            try
            {
                PthFile.Read(path, name => name.EndsWith(".attn.mask", StringComparison.Ordinal));
            }
            catch (WeightsFormatException)
            {
            }
        }
    }

    [Fact]
    public void Random_pickle_corruption_never_escapes_as_another_exception_type()
    {
        // Byte changes inside data.pkl itself (the archive-level fuzz above mostly hits tensor bytes or zip structure).
        List<(string Name, byte[] Data)> entries;
        using (var zip = ZipFile.OpenRead(WeightsFixtures.Folder("ln_mlp_pth") + "/model.pth"))
        {
            entries = zip.Entries.Select(e =>
            {
                using var s = e.Open();
                var data = new byte[e.Length];
                s.ReadExactly(data);
                return (e.FullName, data);
            }).ToList();
        }

        var pickleIndex = entries.FindIndex(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
        var original = entries[pickleIndex].Data;
        var random = new Random(7);
        var refused = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            var pickle = (byte[])original.Clone();
            for (var k = 0; k < 1 + random.Next(3); k++)
            {
                pickle[random.Next(pickle.Length)] = (byte)random.Next(256);
            }

            var mutated = entries.Select(e => (e.Name, e.Data, CompressionLevel.NoCompression)).ToArray();
            mutated[pickleIndex].Data = pickle;
            var path = _temp.File($"pickle{trial}.pth");
            PthBytes.Write(path, mutated);
            try
            {
                PthFile.Read(path, name => name.EndsWith(".attn.mask", StringComparison.Ordinal));
            }
            catch (WeightsFormatException)
            {
                refused++;
            }
        }

        refused.Should().BeGreaterThan(100, "most corruptions of a pickle are detected");
    }

    [Fact]
    public void Many_views_of_one_storage_cannot_multiply_memory_without_bound()
    {
        // 100 tensors each viewing all of a 10 000-float storage would need a million floats from 40 KB of data.
        var builder = new PickleBuilder().EmptyDict();
        for (var i = 0; i < 100; i++)
        {
            builder.Str($"t{i}").Tensor("FloatStorage", "0", 10_000, 0, [10_000], [1]).SetItem();
        }

        var read = () => ReadZip(("archive/data.pkl", builder.Stop().Bytes), ("archive/data/0", new byte[40_000]));

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should()
            .Be("the tensors need 1000000 elements but their storages hold only 10000; views that repeat storage more than 4 times over are refused.");
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> signature) => bytes.AsSpan().IndexOf(signature);

    private Dictionary<string, CircuitDsl.Tensors.Tensor> ReadZip(params (string Name, byte[] Data)[] entries)
    {
        var path = _temp.File(Guid.NewGuid().ToString("N") + ".pth");
        PthBytes.Write(path, entries.Select(e => (e.Name, e.Data, CompressionLevel.NoCompression)).ToArray());
        return PthFile.Read(path);
    }
}
