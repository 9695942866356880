using System.Text.Json;

namespace CircuitDsl.Tests.Cli;

/// <summary><c>circuitdsl patch</c> on the PyTorch patching fixture (Fixtures/Patching, make_fixtures.py).</summary>
public sealed class PatchCommandTests : IDisposable
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Patching", "ln_mlp_3l");

    private readonly string _dir = Directory.CreateTempSubdirectory("patch-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("resid_pre", "resid_pre")]
    [InlineData("attn_out", "attn_out")]
    [InlineData("mlp_out", "mlp_out")]
    [InlineData("heads", "head_out")]
    public void Patch_json_is_the_pytorch_sweep_indexed_by_layer(string what, string key)
    {
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelDir, "expected.json"))).RootElement;

        var (code, stdout, stderr) = Run("--what", what, "--json");

        code.Should().Be(0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        root.EnumerateObject().Select(p => p.Name).Should().Equal("what", "metric", "patched");
        root.GetProperty("what").GetString().Should().Be(what);
        root.GetProperty("metric").GetProperty("clean").GetDouble().Should().BeApproximately(expected.GetProperty("clean").GetDouble(), 1e-4);
        root.GetProperty("metric").GetProperty("corrupted").GetDouble().Should().BeApproximately(expected.GetProperty("corrupted").GetDouble(), 1e-4);
        var patched = root.GetProperty("patched").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var reference = expected.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        patched.Length.Should().Be(3);
        for (var l = 0; l < reference.Length; l++)
        {
            patched[l].Length.Should().Be(reference[l].Length);
            for (var j = 0; j < reference[l].Length; j++)
            {
                patched[l][j].Should().BeApproximately(reference[l][j], 2e-4, $"[{l}][{j}]");
            }
        }
    }

    [Fact]
    public void Patch_prints_a_table_and_writes_a_heatmap()
    {
        var svg = Path.Combine(_dir, "patch.svg");

        var (code, stdout, stderr) = Run("--what", "heads", "--svg", svg);

        code.Should().Be(0, stderr);
        stdout.Should().Contain("clean = 1, corrupted = 0").And.Contain("layer \\ head");
        stdout.Split('\n').Should().Contain(line => line.Contains("│ 2 ", StringComparison.Ordinal), "one row per layer");
        File.ReadAllText(svg).Should().StartWith("<svg").And.Contain("layer 2 × head 1");
    }

    [Fact]
    public void Patch_refuses_inputs_of_different_lengths_an_unknown_target_and_equal_tokens_in_one_line()
    {
        var shorter = Path.Combine(_dir, "short.json");
        File.WriteAllText(shorter, "[[1, 2, 3], [4, 5, 6]]");

        foreach (var (args, reason) in new[]
        {
            (new[] { "--corrupted-tokens", shorter }, "same number of sequences and positions"),
            (["--what", "z"], "--what z: expected one of resid_pre, attn_out, mlp_out, heads."),
            (["--wrong", "2"], "both 2"),
            (["--answer", "70"], "outside the vocabulary"),
        })
        {
            var (code, stdout, stderr) = Run(args);
            code.Should().Be(2, string.Join(" ", args));
            stdout.Should().BeEmpty();
            stderr.Should().Contain(reason).And.EndWith("\n").And.Subject.Trim().Should().NotContain("\n");
        }
    }

    /// <summary>Runs <c>patch</c> on the fixture with answer 2 and wrong 5; later flags in <paramref name="args"/> win.</summary>
    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var options = new Dictionary<string, string>
        {
            ["--clean-tokens"] = Path.Combine(ModelDir, "clean.json"),
            ["--corrupted-tokens"] = Path.Combine(ModelDir, "corrupted.json"),
            ["--answer"] = "2",
            ["--wrong"] = "5",
        };
        var flags = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                options[args[i]] = args[++i];
            }
            else
            {
                flags.Add(args[i]);
            }
        }

        return CliRunner.Run(["patch", ModelDir, .. options.SelectMany(o => new[] { o.Key, o.Value }), .. flags]);
    }
}
