using System.Text.Json;

namespace CircuitDsl.Tests.Cli;

/// <summary>
/// <c>circuitdsl attribute</c> on the TransformerLens-parity fixture model (Fixtures/Lens: TL's
/// <c>stack_head_results</c> + <c>apply_ln_to_stack</c> + <c>logit_attrs</c> on the same weights and tokens).
/// </summary>
public sealed class AttributeCommandTests
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Lens", "ln_mlp_3l");

    private static readonly string TokensPath = Path.Combine(ModelDir, "tokens.json");

    private static JsonElement Expected => JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelDir, "expected.json"))).RootElement;

    [Fact]
    public void The_next_token_attribution_is_transformer_lens_averaged_over_every_predicting_position()
    {
        var (code, stdout, stderr) = CliRunner.Run("attribute", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        root.GetProperty("target").GetString().Should().Be("next_token");
        root.GetProperty("answer").ValueKind.Should().Be(JsonValueKind.Null);
        ShouldBeTheMeans(root, "next", position: null);
        ShouldSumToTheLogit(root);
    }

    [Fact]
    public void The_logit_difference_attribution_is_transformer_lens_at_the_last_position()
    {
        var tokens = Expected.GetProperty("diff_tokens").EnumerateArray().Select(t => t.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var (code, stdout, stderr) = CliRunner.Run("attribute", ModelDir, "--tokens", TokensPath, "--answer", tokens[0], "--wrong", tokens[1], "--json");

        code.Should().Be(0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        root.GetProperty("target").GetString().Should().Be("logit_difference");
        root.GetProperty("answer").GetInt32().Should().Be(int.Parse(tokens[0], System.Globalization.CultureInfo.InvariantCulture));
        ShouldBeTheMeans(root, "diff", position: 4);
        ShouldSumToTheLogit(root);
    }

    [Fact]
    public void The_table_has_a_row_per_layer_and_the_heatmap_one_cell_per_head()
    {
        var svg = Path.Combine(Directory.CreateTempSubdirectory("attribute-tests").FullName, "dla.svg");
        try
        {
            var (code, stdout, stderr) = CliRunner.Run("attribute", ModelDir, "--tokens", TokensPath, "--svg", svg);

            code.Should().Be(0, stderr);
            stdout.Should().StartWith("logit of the actual next token, mean over 2 × 4 predicting positions")
                .And.Contain("layer \\ head").And.Contain("0_mlp_out").And.Contain("every head");
            File.ReadAllText(svg).Should().StartWith("<svg").And.Contain("layer 2 × head 1");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(svg)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("--answer and --wrong go together", "--answer", "2")]
    [InlineData("are both 2", "--answer", "2", "--wrong", "2")]
    [InlineData("outside the vocabulary", "--answer", "2", "--wrong", "700")]
    [InlineData("no tokenizer", "--answer", " Mary", "--wrong", "2")]
    public void Bad_targets_are_one_line_errors(string reason, params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(["attribute", ModelDir, "--tokens", TokensPath, .. args]);

        code.Should().Be(2);
        stdout.Should().BeEmpty();
        stderr.Should().Contain(reason).And.Subject.Trim().Should().NotContain("\n");
    }

    /// <summary>The printed means are TL's attributions (<c>[batch, pos]</c> per head and component) averaged the same way.</summary>
    private static void ShouldBeTheMeans(JsonElement root, string suffix, int? position)
    {
        var expected = Expected;
        var heads = root.GetProperty("heads").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var tlHeads = expected.GetProperty($"heads_{suffix}");
        heads.Length.Should().Be(3);
        for (var l = 0; l < heads.Length; l++)
        {
            heads[l].Length.Should().Be(2);
            for (var h = 0; h < heads[l].Length; h++)
            {
                heads[l][h].Should().BeApproximately(Mean(tlHeads[l][h], position), 1e-4, $"head {l}.{h}");
            }
        }

        var components = root.GetProperty("components").EnumerateArray().ToList();
        components.Select(c => c.GetProperty("label").GetString()).Should()
            .Equal(expected.GetProperty("other_labels").EnumerateArray().Select(l => l.GetString()));
        for (var i = 0; i < components.Count; i++)
        {
            components[i].GetProperty("value").GetDouble().Should().BeApproximately(Mean(expected.GetProperty($"others_{suffix}")[i], position), 1e-4);
        }
    }

    /// <summary>Direct logit attribution is exact: heads, other components and the constant sum to the model's logit.</summary>
    private static void ShouldSumToTheLogit(JsonElement root)
    {
        var sum = root.GetProperty("heads").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetDouble())
            + root.GetProperty("components").EnumerateArray().Sum(c => c.GetProperty("value").GetDouble())
            + root.GetProperty("constant").GetDouble();
        sum.Should().BeApproximately(root.GetProperty("logit").GetDouble(), 1e-4);
    }

    /// <summary>The mean of a <c>[batch][pos]</c> JSON array over every sequence, at one position or all.</summary>
    private static double Mean(JsonElement values, int? position) =>
        values.EnumerateArray().SelectMany(row => row.EnumerateArray().Select((v, p) => (v.GetDouble(), p)))
            .Where(x => position is null || x.p == position).Average(x => x.Item1);
}
