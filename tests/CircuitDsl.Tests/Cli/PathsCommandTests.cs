using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tests.Model;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Cli;

public sealed class PathsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("paths-tests").FullName;
    private readonly TorchFixture _fixture = TorchFixture.Load("ln_mlp_gelu_new");

    public PathsCommandTests()
    {
        ModelFolder.Save(ModelDir, _fixture.Weights);
        File.WriteAllText(TokensPath, JsonSerializer.Serialize(_fixture.Tokens));
    }

    private string ModelDir => Path.Combine(_dir, "model");

    private string TokensPath => Path.Combine(_dir, "tokens.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Paths_json_lists_every_term_which_sum_to_the_logits_and_each_orders_loss()
    {
        var (code, stdout, _) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(0);
        var root = JsonDocument.Parse(stdout).RootElement;
        root.EnumerateObject().Select(p => p.Name).Should().Equal("order", "terms", "importance");
        root.GetProperty("order").ValueKind.Should().Be(JsonValueKind.Null);
        var terms = root.GetProperty("terms").EnumerateArray().ToList();
        terms.Should().HaveCount((int)PathDecomposition.CountTerms(_fixture.Weights.Config, null));
        terms.Select(t => t.EnumerateObject().Select(p => p.Name)).Should().AllSatisfy(n => n.Should().Equal("source", "heads", "logits"));
        terms.Select(t => t.GetProperty("source").GetString()).Distinct().Should().Equal("embed", "pos_embed", "b0", "mlp0", "b1", "mlp1", "b_U");
        terms.Should().Contain(t => t.GetProperty("source").GetString() == "b0"
            && t.GetProperty("heads").EnumerateArray().Select(h => h.GetString()).SequenceEqual(new[] { "1.1" }));
        terms.Where(t => t.GetProperty("source").GetString() == "embed").Select(t => t.GetProperty("heads").GetArrayLength())
            .Should().Equal(0, 1, 1, 1, 1, 2, 2, 2, 2);
        ShouldSumToTheFixturesLogits(terms);

        var importance = root.GetProperty("importance").EnumerateArray().ToList();
        importance.Select(i => i.GetProperty("order").GetInt32()).Should().Equal(0, 1, 2);
        var logits = new HookedTransformer(_fixture.Weights).Forward(_fixture.Tokens);
        importance[^1].GetProperty("loss").GetDouble().Should().BeApproximately(Losses.NextTokenCrossEntropy(logits, _fixture.Tokens), 1e-4);
    }

    [Fact]
    public void With_an_order_the_listed_terms_and_the_rest_sum_to_the_logits()
    {
        var (code, stdout, _) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--order", "1", "--json");

        code.Should().Be(0);
        var root = JsonDocument.Parse(stdout).RootElement;
        root.GetProperty("order").GetInt32().Should().Be(1);
        var terms = root.GetProperty("terms").EnumerateArray().ToList();
        terms.Should().HaveCount((int)PathDecomposition.CountTerms(_fixture.Weights.Config, 1) + 1);
        terms[^1].GetProperty("source").GetString().Should().Be("rest");
        terms[^1].GetProperty("heads").GetArrayLength().Should().Be(0);
        terms.SkipLast(1).Should().OnlyContain(t => t.GetProperty("heads").GetArrayLength() <= 1);
        ShouldSumToTheFixturesLogits(terms);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1)]
    public void Streamed_json_is_byte_for_byte_the_materialised_decompositions_terms(int? order)
    {
        var args = new List<string> { "paths", ModelDir, "--tokens", TokensPath, "--json" };
        if (order is { } k)
        {
            args.AddRange(["--order", k.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        var (code, stdout, _) = CliRunner.Run([.. args]);

        code.Should().Be(0);
        var decomposition = PathDecomposition.Compute(_fixture.Weights, _fixture.Tokens, order);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (order is { } o)
            {
                writer.WriteNumber("order", o);
            }
            else
            {
                writer.WriteNull("order");
            }

            writer.WriteStartArray("terms");
            var terms = decomposition.Terms.Select(t => (Source: t.Id.Source.ToString(), Heads: t.Id.Heads.Select(h => h.ToString()), t.Logits)).ToList();
            if (decomposition.Rest is { } rest)
            {
                terms.Add(("rest", [], rest));
            }

            foreach (var (source, heads, logits) in terms)
            {
                writer.WriteStartObject();
                writer.WriteString("source", source);
                writer.WriteStartArray("heads");
                foreach (var head in heads)
                {
                    writer.WriteStringValue(head);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("logits");
                for (var b = 0; b < logits.Dim(0); b++)
                {
                    writer.WriteStartArray();
                    for (var p = 0; p < logits.Dim(1); p++)
                    {
                        writer.WriteStartArray();
                        foreach (var v in logits[b][p].Span)
                        {
                            writer.WriteNumberValue(v);
                        }

                        writer.WriteEndArray();
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("importance");
            foreach (var loss in decomposition.Importance())
            {
                writer.WriteStartObject();
                writer.WriteNumber("order", loss.Order);
                writer.WriteNumber("loss", loss.Loss);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        stdout.Should().Be(System.Text.Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine);
    }

    [Fact]
    public void The_table_ranks_the_terms_by_share_and_shows_each_orders_loss()
    {
        var (code, stdout, _) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--order", "0");

        code.Should().Be(0);
        stdout.Should().Contain("share").And.Contain("embed").And.Contain("pos_embed").And.Contain("mlp1").And.Contain("rest")
            .And.Contain("> 0").And.Contain("loss (nats/token)");
        stdout.Should().NotContain("→", "order 0 lists no path through a head");
        stdout.Should().Contain("next-token logit");
    }

    [Fact]
    public void Top_lists_only_the_largest_shares_the_same_rows_as_the_whole_table()
    {
        var (_, all, _) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--order", "1");
        var (code, top, _) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--order", "1", "--top", "2");

        code.Should().Be(0);
        // The ranked rows' cells (rank, path, order, norm, share, next-token logit), padding aside.
        static List<string> Ranked(string table) =>
            [.. table.Split('\n').Select(l => l.Split('│', StringSplitOptions.TrimEntries))
                .Where(cells => cells.Length == 8 && int.TryParse(cells[1], out _)).Select(cells => string.Join(" | ", cells))];
        var rows = Ranked(all);
        rows.Count.Should().BeGreaterThan(3);
        Ranked(top).Should().Equal(rows.Take(2));
        top.Should().Contain($"the 2 largest of {rows.Count} terms").And.Contain("loss (nats/token)");

        var (refused, _, stderr) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--top", "0");
        refused.Should().Be(2);
        stderr.Should().Contain("--top must be 1 or more (got 0).");
    }

    [Theory]
    [InlineData("[[1, 99]]", "outside the vocabulary")]
    [InlineData("[[1, 2], [3]]", "Sequence 1 has 1 tokens; sequence 0 has 2")]
    public void Bad_tokens_are_exit_code_2_with_one_line(string content, string reason)
    {
        File.WriteAllText(TokensPath, content);

        var (code, _, stderr) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath);

        code.Should().Be(2);
        stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("circuitdsl: ").And.Contain(reason);
    }

    [Fact]
    public void Sequences_of_one_token_have_no_loss_and_are_exit_code_2()
    {
        File.WriteAllText(TokensPath, "[[1], [2]]");

        var (code, _, stderr) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(2);
        stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Be(
            "circuitdsl: Sequences of one token predict nothing: the loss needs at least two.");
    }

    [Theory]
    [InlineData("-1", "--order must be 0 or more (got -1).")]
    [InlineData("two", "two")]
    public void A_bad_order_is_exit_code_2_with_one_line(string order, string message)
    {
        var (code, _, stderr) = CliRunner.Run("paths", ModelDir, "--tokens", TokensPath, "--order", order);

        code.Should().Be(2);
        stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("circuitdsl: ").And.Contain(message);
    }

    private void ShouldSumToTheFixturesLogits(List<JsonElement> terms)
    {
        var sums = _fixture.Logits.Select(s => s.Select(p => new double[p.Length]).ToArray()).ToArray();
        foreach (var term in terms)
        {
            var logits = term.GetProperty("logits").Deserialize<float[][][]>()!;
            logits.Should().HaveCount(sums.Length);
            for (var b = 0; b < sums.Length; b++)
            {
                for (var p = 0; p < sums[b].Length; p++)
                {
                    for (var v = 0; v < sums[b][p].Length; v++)
                    {
                        sums[b][p][v] += logits[b][p][v];
                    }
                }
            }
        }

        for (var b = 0; b < sums.Length; b++)
        {
            for (var p = 0; p < sums[b].Length; p++)
            {
                sums[b][p].Should().Equal(_fixture.Logits[b][p], (a, e) => Math.Abs(a - e) < 1e-4, $"sequence {b}, position {p}");
            }
        }
    }
}
