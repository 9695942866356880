using System.Globalization;
using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tests.Model;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Cli;

public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-tests").FullName;
    private readonly TorchFixture _fixture = TorchFixture.Load("ln_mlp_gelu_new");

    public CommandLineTests()
    {
        ModelFolder.Save(ModelDir, _fixture.Weights);
        File.WriteAllText(TokensPath, JsonSerializer.Serialize(_fixture.Tokens));
    }

    private string ModelDir => Path.Combine(_dir, "model");

    private string TokensPath => Path.Combine(_dir, "tokens.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HeadId Head(string id) => new(int.Parse(id.Split('.')[0], CultureInfo.InvariantCulture), int.Parse(id.Split('.')[1], CultureInfo.InvariantCulture));

    [Fact]
    public void Logits_json_prints_the_forward_pass_shaped_sequence_position_vocab()
    {
        var (code, stdout, _) = CliRunner.Run("logits", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(0);
        var logits = JsonDocument.Parse(stdout).RootElement.GetProperty("logits").Deserialize<float[][][]>()!;
        logits.Should().HaveCount(_fixture.Tokens.Length);
        for (var b = 0; b < logits.Length; b++)
        {
            for (var p = 0; p < logits[b].Length; p++)
            {
                logits[b][p].Select(x => (double)x).Should().Equal(_fixture.Logits[b][p], (a, e) => Math.Abs(a - e) < 1e-4);
            }
        }
    }

    [Fact]
    public void Logits_without_json_shows_the_top_predictions()
    {
        var (code, stdout, _) = CliRunner.Run("logits", ModelDir, "--tokens", TokensPath);

        code.Should().Be(0);
        var best = Enumerable.Range(0, _fixture.Logits[0][0].Length).MaxBy(v => _fixture.Logits[0][0][v]);
        stdout.Should().Contain("most likely next").And.Contain($"{best} (");
    }

    [Fact]
    public void The_logits_table_prints_each_positions_three_largest_materialised_logits()
    {
        var (code, stdout, _) = CliRunner.Run("logits", ModelDir, "--tokens", TokensPath);

        // Every row of the table against the forward pass's logits sorted, largest first and the lower token first among
        // equals, each with its logit to two decimals (the table's cells, padded, between box-drawing bars).
        code.Should().Be(0);
        var logits = new HookedTransformer(_fixture.Weights).Forward(_fixture.Tokens);
        int pos = logits.Dim(1), vocab = logits.Dim(2);
        var rows = stdout.Split('\n').Select(line => line.Split('│', StringSplitOptions.TrimEntries)).Where(cells => cells.Length == 6).Skip(1).ToList();
        rows.Should().HaveCount(_fixture.Tokens.Length * pos);
        for (var r = 0; r < rows.Count; r++)
        {
            var row = logits.Span.Slice(r * vocab, vocab).ToArray();
            var top = Enumerable.Range(0, vocab).OrderByDescending(v => row[v]).ThenBy(v => v).Take(3)
                .Select(v => string.Create(CultureInfo.InvariantCulture, $"{v} ({row[v]:F2})"));
            rows[r][1..5].Should().Equal($"{r / pos}", $"{r % pos}", $"{_fixture.Tokens[r / pos][r % pos]}", string.Join(", ", top));
        }
    }

    [Fact]
    public void Loss_json_is_the_mean_next_token_cross_entropy()
    {
        var (code, stdout, _) = CliRunner.Run("loss", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(0);
        var root = JsonDocument.Parse(stdout).RootElement;
        var expected = _fixture.Tokens.SelectMany((seq, b) => seq.Skip(1).Select((next, p) =>
        {
            var row = _fixture.Logits[b][p];
            var max = row.Max();
            return max + Math.Log(row.Sum(x => Math.Exp(x - max))) - row[next];
        })).Average();
        root.GetProperty("loss").GetDouble().Should().BeApproximately(expected, 1e-4);
        root.GetProperty("tokens").GetInt32().Should().Be(_fixture.Tokens.Length * (_fixture.Tokens[0].Length - 1));
    }

    [Fact]
    public void Inspect_json_gives_the_config_under_TransformerLens_names()
    {
        var (code, stdout, _) = CliRunner.Run("inspect", ModelDir, "--json");

        code.Should().Be(0);
        var root = JsonDocument.Parse(stdout).RootElement;
        var config = root.GetProperty("config");
        config.GetProperty("n_layers").GetInt32().Should().Be(2);
        config.GetProperty("d_mlp").GetInt32().Should().Be(16);
        config.GetProperty("normalization_type").GetString().Should().Be("LN");
        root.GetProperty("parameters").GetInt64().Should().Be(_fixture.Weights.ToStateDict().Sum(t => (long)t.Value.Length));
    }

    [Fact]
    public void Inspect_json_scores_every_head_and_every_earlier_later_pair()
    {
        var (code, stdout, _) = CliRunner.Run("inspect", ModelDir, "--json");

        code.Should().Be(0);
        var root = JsonDocument.Parse(stdout).RootElement;
        var heads = root.GetProperty("heads").EnumerateArray().ToList();
        heads.Select(h => h.GetProperty("head").GetString()).Should().Equal("0.0", "0.1", "1.0", "1.1");
        foreach (var h in heads)
        {
            foreach (var score in new[] { "previous_token", "duplicate_token", "induction" })
            {
                h.GetProperty(score).GetDouble().Should().BeInRange(0, 1);
            }

            h.GetProperty("copying").GetDouble().Should().BeInRange(-1, 1);
        }

        // 2 earlier heads × 2 later heads × Q, K, V, each equal to the definition on the processed weights.
        var composition = root.GetProperty("composition").EnumerateArray().ToList();
        composition.Should().HaveCount(12);
        var processed = WeightProcessing.Apply(_fixture.Weights).Weights;
        foreach (var c in composition)
        {
            var kind = Enum.Parse<CompositionKind>(c.GetProperty("kind").GetString()!);
            var from = Head(c.GetProperty("from").GetString()!);
            var to = Head(c.GetProperty("to").GetString()!);
            c.GetProperty("score").GetDouble().Should().BeApproximately(
                CompositionScores.Score(processed, kind, from, to), 1e-4);
        }

        root.GetProperty("weight_processing").GetString().Should().Contain("fold_ln");
    }

    [Fact]
    public void Inspect_detects_with_the_tokens_given()
    {
        File.WriteAllText(TokensPath, "[[1, 2, 3, 1, 2, 3]]");

        var (code, stdout, _) = CliRunner.Run("inspect", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(0);
        JsonDocument.Parse(stdout).RootElement.GetProperty("detection_batch").GetString().Should().Be("1 sequences from --tokens");
    }

    [Fact]
    public void Inspect_prints_a_readable_table()
    {
        var (code, stdout, _) = CliRunner.Run("inspect", ModelDir);

        code.Should().Be(0);
        stdout.Should().Contain("2 × 2").And.Contain("attention + MLP (d_mlp 16, gelu_new)").And.Contain("gemm backend")
            .And.Contain("previous token").And.Contain("strongest compositions");
    }

    [Fact]
    public void Version_names_the_matrix_multiply_backend()
    {
        var (code, stdout, _) = CliRunner.Run("--version");

        code.Should().Be(0);
        stdout.Should().StartWith("circuitdsl ").And.Contain("gemm: ");
    }

    [Fact]
    public void A_missing_folder_is_one_line_and_exit_code_2()
    {
        var missing = Path.Combine(_dir, "nope");

        var (code, stdout, stderr) = CliRunner.Run("inspect", missing);

        code.Should().Be(2);
        stdout.Should().BeEmpty();
        stderr.Trim().Should().Be($"circuitdsl: {missing}: the model folder does not exist.");
    }

    [Fact]
    public void A_token_outside_the_vocabulary_is_refused()
    {
        File.WriteAllText(TokensPath, "[[1, 2, 300]]");

        var (code, _, stderr) = CliRunner.Run("loss", ModelDir, "--tokens", TokensPath);

        code.Should().Be(2);
        stderr.Should().Contain("Token id 300 at sequence 0, position 2 is outside the vocabulary [0, 9)");
        stderr.Trim().Split('\n').Should().HaveCount(1);
    }

    [Theory]
    [InlineData("not json", "not a JSON array of token-id arrays")]
    [InlineData("[]", "expected a non-empty JSON array")]
    [InlineData("[[1, 2], [3]]", "Sequence 1 has 1 tokens; sequence 0 has 2")]
    [InlineData("{\"tokens\": [1]}", "not a JSON array of token-id arrays")]
    public void A_bad_tokens_file_is_refused_with_the_reason(string content, string reason)
    {
        File.WriteAllText(TokensPath, content);

        var (code, _, stderr) = CliRunner.Run("logits", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(2);
        stderr.Should().Contain(reason);
    }

    [Fact]
    public void A_corrupt_weights_file_names_the_file()
    {
        File.WriteAllBytes(Path.Combine(ModelDir, ModelFolder.SafetensorsFileName), [1, 2, 3]);

        var (code, _, stderr) = CliRunner.Run("inspect", ModelDir);

        code.Should().Be(2);
        stderr.Should().StartWith("circuitdsl: ").And.Contain(ModelFolder.SafetensorsFileName);
    }

    [Theory]
    [InlineData("logits", "--json")]
    [InlineData("frobnicate")]
    [InlineData("loss", "--tokens")]
    public void Bad_arguments_are_exit_code_2(params string[] args)
    {
        var (code, _, stderr) = CliRunner.Run(args);

        code.Should().Be(2);
        stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("circuitdsl: ");
    }
}
