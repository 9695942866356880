using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Tests.Circuits;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Weights;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Tensors;

/// <summary>
/// Releasing the pages of a memory-mapped weights file: read pages leave the resident set (as /proc/self/smaps counts it)
/// and read back the same, written copy-on-write pages are never dropped, and the embedding's gather and the finiteness
/// scan give what the plain loops give.
/// </summary>
public sealed class ResidentPagesTests : IDisposable
{
    private const int Rows = 4096;
    private const int Width = 512; // 8 MB of floats: many pages, and several of the gather's release steps
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Released_pages_of_a_mapped_file_leave_the_resident_set_and_read_back_the_same()
    {
        var (path, values) = WriteMatrix();
        using var file = SafetensorsFile.Open(path);
        var mapped = file.Tensors["m"];
        mapped.Span.SequenceEqual(values).Should().BeTrue();
        var touched = ResidentKiB(path);

        ResidentPages.Release(mapped.Memory);

        if (OperatingSystem.IsLinux())
        {
            touched.Should().BeGreaterThan(Rows * Width * sizeof(float) / 1024 * 9 / 10, "reading every float mapped the file");
            ResidentKiB(path).Should().BeLessThan(64, "every page of the file was still the file's own");
        }

        mapped.Span.SequenceEqual(values).Should().BeTrue("a released page faults back in from the file");
    }

    [Fact]
    public void A_page_written_since_mapping_is_kept_and_keeps_its_values()
    {
        var (path, values) = WriteMatrix();
        using var file = SafetensorsFile.Open(path);
        var mapped = file.Tensors["m"];
        var span = mapped.Span;

        // One float in every 64th page (1024 floats a page), and the rest of the pages only read.
        var expected = (float[])values.Clone();
        for (var i = 0; i < span.Length; i += 64 * 1024)
        {
            span[i] = expected[i] = -1000 - i;
        }

        var written = (span.Length + (64 * 1024) - 1) / (64 * 1024);
        mapped.Span.SequenceEqual(expected).Should().BeTrue();

        ResidentPages.Release(mapped.Memory);

        if (OperatingSystem.IsLinux())
        {
            ResidentKiB(path).Should().BeInRange(written * 4, (written * 4) + 64, "only the written pages stay");
        }

        mapped.Span.SequenceEqual(expected).Should().BeTrue("the written values survive, the others read back from the file");
        using var reopened = SafetensorsFile.Open(path);
        reopened.Tensors["m"].Span.SequenceEqual(values).Should().BeTrue("the file itself is never written");
    }

    [Fact]
    public void Released_managed_memory_is_left_alone()
    {
        var (_, values) = WriteMatrix();
        var copy = (float[])values.Clone();

        ResidentPages.Release(copy);

        copy.Should().Equal(values);
    }

    [Fact]
    public void Gathering_rows_gives_the_plain_gather_from_an_array_and_from_a_mapped_file_which_it_releases()
    {
        var (path, values) = WriteMatrix();
        var rng = new Random(5);
        // Unsorted, repeated, the first and the last row, and far more rows than one release step holds.
        int[] rows = [Rows - 1, 0, 7, 7, .. Enumerable.Range(0, 3000).Select(_ => rng.Next(Rows)), 0, Rows - 1];
        var plain = new float[rows.Length * Width];
        for (var i = 0; i < rows.Length; i++)
        {
            values.AsSpan(rows[i] * Width, Width).CopyTo(plain.AsSpan(i * Width));
        }

        var fromArray = new float[plain.Length];
        ResidentPages.GatherRows(values, Width, rows, fromArray);
        using var file = SafetensorsFile.Open(path);
        var fromFile = new float[plain.Length];
        ResidentPages.GatherRows(file.Tensors["m"].Memory, Width, rows, fromFile);

        fromArray.Should().Equal(plain);
        fromFile.Should().Equal(plain);
        if (OperatingSystem.IsLinux())
        {
            ResidentKiB(path).Should().BeLessThan(64, "the gather releases the rows it has read");
        }
    }

    [Fact]
    public void The_finiteness_scan_names_a_non_finite_weight_past_its_first_chunk_and_leaves_the_file_released_but_the_blocks_unless_they_will_be_rewritten()
    {
        // d_vocab 4,100 × d_model 512: W_E alone is 2.1 M floats, two of the scan's 4 MB chunks and part of a third.
        var dir = _temp.File("model");
        var weights = RandomWeights.Create(RandomWeights.Config(layers: 1, dModel: 512, dHead: 16, vocab: 4100, ctx: 8), seed: 3);
        ModelFolder.Save(dir, weights);
        var path = Path.Combine(dir, ModelFolder.SafetensorsFileName);
        using (var finite = ModelFolder.Load(dir))
        {
            ModelAnalysis.FindNonFinite(finite.Weights).Should().BeNull();
            if (OperatingSystem.IsLinux())
            {
                // The blocks' weights stay (every command reads them again); W_E and W_U, 16 MB of the file, go.
                var blocksKiB = finite.Weights.ToStateDict().Where(p => p.Key.StartsWith("blocks.", StringComparison.Ordinal))
                    .Sum(p => p.Value.Length * 4L) / 1024;
                blocksKiB.Should().BeLessThan(new FileInfo(path).Length / 1024 / 4);
                ResidentKiB(path).Should().BeLessThan(blocksKiB + 64, "the scan releases what it has read outside the blocks");

                // For a caller about to rewrite the blocks in place, their pages go too.
                FiniteScan.FindNonFinite(finite.Weights, rewritesBlocks: true).Should().BeNull();
                ResidentKiB(path).Should().BeLessThan(64, "the scan releases every page it has read");
            }
        }

        const int Index = (2 << 20) + 77;
        weights.W_E.Span[Index] = float.NegativeInfinity;
        ModelFolder.Save(dir, weights);
        using var folder = ModelFolder.Load(dir);

        ModelAnalysis.FindNonFinite(folder.Weights).Should()
            .Be($"tensor 'embed.W_E' contains {float.NegativeInfinity} at flat index {Index}; no score on these weights means anything.");
    }

    [Fact]
    public void The_finiteness_scan_names_the_first_of_several_non_finite_weights_in_state_dict_order()
    {
        // The chunks are checked in parallel: whichever thread finds one first, the earliest in state-dict order is named.
        var dir = _temp.File("several");
        var weights = RandomWeights.Create(RandomWeights.Config(layers: 2, dModel: 512, dHead: 16, vocab: 4100, ctx: 8), seed: 4);
        weights.W_U.Span[3] = float.NaN;
        weights.Blocks[1].W_Q.Span[9] = float.PositiveInfinity;
        weights.W_E.Span[(2 << 20) + 5] = float.NegativeInfinity;
        ModelFolder.Save(dir, weights);
        using (var folder = ModelFolder.Load(dir))
        {
            ModelAnalysis.FindNonFinite(folder.Weights).Should().StartWith($"tensor 'embed.W_E' contains {float.NegativeInfinity} at flat index {(2 << 20) + 5};");
        }

        weights.W_E.Span[(2 << 20) + 5] = 0f;
        ModelFolder.Save(dir, weights);
        using (var folder = ModelFolder.Load(dir))
        {
            ModelAnalysis.FindNonFinite(folder.Weights).Should().StartWith($"tensor 'blocks.1.attn.W_Q' contains {float.PositiveInfinity} at flat index 9;");
        }
    }

    /// <summary>A safetensors file of one <c>[Rows, Width]</c> matrix of distinct floats, and the floats.</summary>
    private (string Path, float[] Values) WriteMatrix()
    {
        var values = new float[Rows * Width];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i * 0.25f;
        }

        var path = _temp.File("matrix.safetensors");
        using (var stream = File.Create(path))
        {
            SafetensorsFile.Write(stream, [new("m", new Tensor(values, Rows, Width))]);
        }

        return (path, values);
    }

    /// <summary>The resident KiB of this process's mappings of <paramref name="path"/> (/proc/self/smaps; 0 off Linux).</summary>
    private static long ResidentKiB(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        long total = 0;
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out _)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out _))
            {
                inside = line.EndsWith(path, StringComparison.Ordinal);
            }
            else if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                total += long.Parse(line.AsSpan(4).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}
