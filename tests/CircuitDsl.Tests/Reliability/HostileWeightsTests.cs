using System.Reflection;
using CircuitDsl.Tests.Weights;
using CircuitDsl.Weights;
using Xunit.Abstractions;

namespace CircuitDsl.Tests.Reliability;

/// <summary>
/// Hostile weights files: every case must end in a <see cref="WeightsFormatException"/> (or, for random bit flips
/// that land in tensor data, a clean load) within a timeout and an allocation budget, with nothing written and
/// nothing executed. tests/fuzz/FuzzWeights runs the same generator for thousands of cases.
/// </summary>
public sealed class HostileWeightsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Sentinel => _temp.File("payload-ran");

    [Fact]
    public void Hundreds_of_hostile_folders_are_refused_by_name_within_bounds_and_run_nothing()
    {
        var generator = new HostileWeights(WeightsFixtures.Root, Sentinel);
        var cases = generator.Cases(seed: 20_260_101, count: 17 * 20).ToList();

        var results = cases.Select(c => HostileRunner.Run(c, _temp.Path, Sentinel, TimeSpan.FromSeconds(20))).ToList();

        foreach (var kind in HostileWeights.Kinds)
        {
            var ofKind = results.Where(r => r.Case.Kind == kind).ToList();
            output.WriteLine($"{kind,-24} {ofKind.Count,4} cases  refused {ofKind.Count(r => r.Outcome == HostileOutcome.Refused),4}"
                + $"  loaded {ofKind.Count(r => r.Outcome == HostileOutcome.Loaded),4}  max alloc {ofKind.Max(r => r.AllocatedBytes) / 1024,8} KB"
                + $"  max {ofKind.Max(r => r.Elapsed.TotalMilliseconds),6:F0} ms");
        }

        var bad = results.Where(r => !r.Acceptable)
            .Select(r => $"{r.Case.Kind} ({r.Case.Description}): {string.Join("; ", r.Violations)}").ToList();
        bad.Should().BeEmpty();
        results.Where(r => r.Case.Kind == HostileKind.Control).Should().OnlyContain(r => r.Outcome == HostileOutcome.Loaded,
            "the generator's unmodified files are valid, so refusals of the others are caused by their attacks");
        results.Where(r => r.Case.Kind is not (HostileKind.Control or HostileKind.FlippedBytes))
            .Should().OnlyContain(r => r.Outcome == HostileOutcome.Refused);
        File.Exists(Sentinel).Should().BeFalse();
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("subprocess", "Popen")]
    [InlineData("builtins", "eval")]
    [InlineData("__builtin__", "eval")]
    public void A_global_is_refused_where_it_is_named_before_anything_could_call_it(string module, string name)
    {
        // GLOBAL at byte 2, then a REDUCE that would call it: the refusal points at the GLOBAL, not the REDUCE,
        // so the name is never resolved to anything callable.
        var pickle = new PickleWriter().Global(module, name).Mark().Str($"touch {Sentinel}").Tuple().Reduce().Stop().ToArray();

        var load = () => RestrictedUnpickler.Load(pickle, "x.pth");

        load.Should().Throw<WeightsFormatException>().Which.Problem.Should()
            .StartWith($"data.pkl byte 2: refused global '{module}.{name}'");
        File.Exists(Sentinel).Should().BeFalse();
    }

    [Fact]
    public void Allowed_globals_resolve_to_inert_markers_not_to_anything_callable()
    {
        // A pickle whose value is the allow-listed global itself: what comes back is a plain marker, not a delegate,
        // a Type or a MethodInfo, because the unpickler has no way to reach code by name.
        foreach (var (module, name) in new[] { ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage") })
        {
            var value = RestrictedUnpickler.Load(new PickleWriter().Global(module, name).Stop().ToArray(), "x.pth");

            value.Should().NotBeNull();
            value.Should().NotBeAssignableTo<Delegate>().And.NotBeAssignableTo<MemberInfo>();
            value!.GetType().Assembly.Should().BeSameAs(typeof(ModelFolder).Assembly, $"{module}.{name} is one of the reader's own markers");
        }
    }

    [Fact]
    public void The_runtime_cannot_start_a_process()
    {
        // The library does not even reference the assembly that starts processes.
        typeof(ModelFolder).Assembly.GetReferencedAssemblies().Select(a => a.Name)
            .Should().NotContain("System.Diagnostics.Process");
    }

    [Fact]
    public void The_raw_zip_writer_agrees_with_the_dotnet_reader()
    {
        // Guards the hand-written zip fields: an honest archive from RawZip reads back byte for byte.
        var data = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var bytes = RawZip.Write([ZipEntrySpec.Store("a/b", data), ZipEntrySpec.Deflate("a/c", data)]);

        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bytes));
        foreach (var entry in zip.Entries)
        {
            using var s = entry.Open();
            var read = new MemoryStream();
            s.CopyTo(read);
            read.ToArray().Should().Equal(data, entry.FullName);
        }
    }

    // Regressions the fuzz found, each as one readable case.

    [Fact]
    public void A_negative_storage_offset_is_refused_rather_than_escaping_as_ArgumentOutOfRange()
    {
        var pickle = PickleWriter.StateDict([PickledTensorSpec.Contiguous("t", "0", [4]) with { Offset = -3 }]);

        var read = () => ReadPth(RawZip.Write([ZipEntrySpec.Store("m/data.pkl", pickle), ZipEntrySpec.Store("m/data/0", new byte[16])]));

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().EndWith("a tensor's storage offset must be a non-negative integer (got -3).");
    }

    [Fact]
    public void An_entry_that_inflates_past_its_declared_size_fails_its_CRC()
    {
        // Declares 16 bytes (what the storage needs) but inflates to a megabyte; .NET stops reading at 16 bytes.
        var pickle = PickleWriter.StateDict([PickledTensorSpec.Contiguous("t", "0", [4])]);
        var bomb = ZipEntrySpec.Deflate("m/data/0", new byte[1 << 20]) with { UncompressedSize = 16 };

        var read = () => ReadPth(RawZip.Write([ZipEntrySpec.Store("m/data.pkl", pickle), bomb]));

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().StartWith("archive entry 'm/data/0' fails its CRC-32 check");
    }

    [Fact]
    public void A_flipped_bit_in_stored_tensor_data_fails_its_CRC()
    {
        var pickle = PickleWriter.StateDict([PickledTensorSpec.Contiguous("t", "0", [4])]);
        var bytes = RawZip.Write([ZipEntrySpec.Store("m/data.pkl", pickle), ZipEntrySpec.Store("m/data/0", new byte[16])]);
        bytes[bytes.AsSpan().IndexOf("m/data/0"u8) + 8 + 5] ^= 0x10;

        var read = () => ReadPth(bytes);

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain("fails its CRC-32 check");
    }

    [Fact]
    public void A_pickle_declaring_60_MB_is_not_given_60_MB_before_its_bytes_arrive()
    {
        var pickle = PickleWriter.StateDict([PickledTensorSpec.Contiguous("t", "0", [4])]);
        var entry = ZipEntrySpec.Store("m/data.pkl", pickle) with { UncompressedSize = 60L << 20 };
        var path = _temp.File("declared.pth");
        File.WriteAllBytes(path, RawZip.Write([entry, ZipEntrySpec.Store("m/data/0", new byte[16])]));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = () => PthFile.Read(path);
        read.Should().Throw<WeightsFormatException>();

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(8L << 20);
    }

    [Fact]
    public void A_memo_flood_compressed_a_thousandfold_is_refused_before_it_is_unpickled()
    {
        // Two million MEMOIZE bytes deflate to about 2 KB; unpickled they would cost about 180 MB of memo.
        var flood = new PickleWriter(4).None().Repeat([0x94], 2_000_000).Stop().ToArray();
        var path = _temp.File("flood.pth");
        File.WriteAllBytes(path, RawZip.Write([ZipEntrySpec.Deflate("m/data.pkl", flood)]));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = () => PthFile.Read(path);

        read.Should().Throw<WeightsFormatException>().Which.Problem.Should().Contain("more than 64-fold; refused as a possible zip bomb");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1L << 20);
    }

    private Dictionary<string, CircuitDsl.Tensors.Tensor> ReadPth(byte[] bytes)
    {
        var path = _temp.File(Guid.NewGuid().ToString("N") + ".pth");
        File.WriteAllBytes(path, bytes);
        return PthFile.Read(path);
    }
}
