using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Cli;

/// <summary><c>circuitdsl lens</c> on the TransformerLens-parity fixture model (Fixtures/Lens).</summary>
public sealed class LensCommandTests : IDisposable
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Lens", "ln_mlp_3l");

    private readonly string _dir = Directory.CreateTempSubdirectory("lens-tests").FullName;

    private string TokensPath => Path.Combine(_dir, "tokens.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Lens_json_gives_each_layers_mean_log_probability_of_the_next_token_ending_at_minus_the_models_loss()
    {
        int[][] tokens = [[2, 0, 2, 4, 0], [4, 4, 5, 5, 5]];
        File.WriteAllText(TokensPath, JsonSerializer.Serialize(tokens));
        using var folder = ModelFolder.Load(ModelDir);
        var d = ResidualDecomposition.Compute(folder.Weights, tokens);
        var means = ResidualDecomposition.LogitLensMeans(folder.Weights, tokens);
        var frozen = d.LogitLens();
        var own = d.LogitLens(recomputeScale: true);

        var (code, stdout, _) = CliRunner.Run("lens", ModelDir, "--tokens", TokensPath, "--json");

        code.Should().Be(0);
        var layers = JsonDocument.Parse(stdout).RootElement.GetProperty("layers").EnumerateArray().ToList();
        layers.Select(l => l.GetProperty("layer").GetString()).Should().Equal("0_pre", "1_pre", "2_pre", "final_post");
        for (var i = 0; i < layers.Count; i++)
        {
            layers[i].GetProperty("log_prob").GetDouble().Should().BeApproximately(-means[i].MeanLoss, 1e-9);
            layers[i].GetProperty("log_prob_own_scale").GetDouble().Should().BeApproximately(-means[i].MeanLossOwnScale, 1e-9);
            layers[i].GetProperty("log_prob").GetDouble().Should().BeApproximately(-frozen[i].MeanLoss, 1e-6 * Math.Abs(frozen[i].MeanLoss));
            layers[i].GetProperty("log_prob_own_scale").GetDouble().Should().BeApproximately(-own[i].MeanLoss, 1e-6 * Math.Abs(own[i].MeanLoss));
        }

        layers[^1].GetProperty("log_prob").GetDouble().Should().BeApproximately(-Losses.NextTokenCrossEntropy(d.Logits, tokens), 1e-4);
    }

    [Fact]
    public void Lens_prints_a_table_and_refuses_sequences_of_one_token()
    {
        File.WriteAllText(TokensPath, "[[1, 2, 3]]");
        var (code, stdout, _) = CliRunner.Run("lens", ModelDir, "--tokens", TokensPath);

        code.Should().Be(0);
        stdout.Should().Contain("final_post").And.Contain("0_pre");

        File.WriteAllText(TokensPath, "[[1], [2]]");
        var (refused, _, stderr) = CliRunner.Run("lens", ModelDir, "--tokens", TokensPath);

        refused.Should().Be(2);
        stderr.Should().Contain("one token");
    }
}
