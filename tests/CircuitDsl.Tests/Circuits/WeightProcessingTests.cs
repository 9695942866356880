using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>Every processing step must leave the log-probabilities of the forward pass unchanged.</summary>
public sealed class WeightProcessingTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0, 3], [7, 7, 5, 10, 1, 2, 8]];

    private static double[] LogProbs(TransformerWeights w)
    {
        var logits = new HookedTransformer(w).Forward(Tokens);
        var vocab = logits.Dim(2);
        var result = new double[logits.Length];
        for (var r = 0; r < logits.Length; r += vocab)
        {
            var row = logits.Span.Slice(r, vocab);
            var lse = Losses.LogSumExp(row);
            for (var v = 0; v < vocab; v++)
            {
                result[r + v] = row[v] - lse;
            }
        }

        return result;
    }

    [Theory]
    [InlineData(Normalization.LN, false, "fold_ln, center_writing_weights, center_unembed, fold_value_biases")]
    [InlineData(Normalization.LN, true, "fold_ln, center_writing_weights, center_unembed, fold_value_biases")]
    [InlineData(Normalization.LNPre, false, "fold_ln, center_writing_weights, center_unembed, fold_value_biases")]
    [InlineData(Normalization.None, true, "center_unembed, fold_value_biases")]
    public void Default_processing_leaves_log_probs_unchanged(Normalization norm, bool attnOnly, string description)
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, dModel: 8, dHead: 3, vocab: 11, norm: norm, attnOnly: attnOnly), seed: 17, scale: 0.8f);
        var before = w.ToStateDict().Select(kv => kv.Value.Span.ToArray()).ToList();

        var processed = WeightProcessing.Apply(w);

        processed.Description.Should().Be(description);
        LogProbs(processed.Weights).Should().Equal(LogProbs(w), (a, b) => Math.Abs(a - b) < 1e-4);
        w.ToStateDict().Select(kv => kv.Value.Span.ToArray()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering(),
            "the input weights are never modified");
    }

    [Fact]
    public void Folding_moves_layer_norm_into_the_readers_and_centres_them()
    {
        var w = RandomWeights.Create(RandomWeights.Config(norm: Normalization.LN, attnOnly: false), seed: 2);

        var p = WeightProcessing.Apply(w).Weights;

        p.Config.NormalizationType.Should().Be(Normalization.LNPre);
        p.LnFinalW.Should().BeNull();
        p.Blocks[0].Ln1W.Should().BeNull();
        foreach (var reader in new[] { p.Blocks[1].W_Q[0], p.Blocks[0].W_in!, p.W_U })
        {
            for (var j = 0; j < reader.Dim(1); j++)
            {
                Enumerable.Range(0, reader.Dim(0)).Sum(i => (double)reader[i, j]).Should().BeApproximately(0, 1e-5);
            }
        }

        p.Blocks[1].b_V.Span.ToArray().Should().OnlyContain(x => x == 0f);
        Enumerable.Range(0, p.Config.DModel).Sum(i => (double)p.W_E[3, i]).Should().BeApproximately(0, 1e-5);
        Enumerable.Range(0, p.Config.DVocab).Sum(v => (double)p.W_U[2, v]).Should().BeApproximately(0, 1e-5);
    }

    [Fact]
    public void Layer_norm_folding_and_all_centring_are_refused_for_shortformer_models_as_TransformerLens_does()
    {
        var config = RandomWeights.Config(norm: Normalization.LN) with { PositionalEmbeddingType = PositionalEmbedding.Shortformer };
        var w = RandomWeights.Create(config, seed: 4);

        var processed = WeightProcessing.Apply(w);

        processed.Description.Should().Be("fold_value_biases");
        processed.Skipped.Should().HaveCount(3).And.OnlyContain(s => s.Contains("shortformer", StringComparison.Ordinal));
        processed.Skipped.Should().Contain(s => s.StartsWith("center_unembed:", StringComparison.Ordinal));
        processed.Weights.W_U.Span.ToArray().Should().Equal(w.W_U.Span.ToArray(), "TransformerLens reads a shortformer model's unembedding uncentred");
        processed.Weights.Config.NormalizationType.Should().Be(Normalization.LN);
        LogProbs(processed.Weights).Should().Equal(LogProbs(w), (a, b) => Math.Abs(a - b) < 1e-4);
    }

    [Fact]
    public void No_steps_means_none_and_equal_weights()
    {
        var w = RandomWeights.Create(RandomWeights.Config(norm: Normalization.LN), seed: 8);

        var processed = WeightProcessing.Apply(w, WeightProcessingOptions.None);

        processed.Description.Should().Be("none");
        processed.Weights.ToStateDict().Select(kv => kv.Value.Span.ToArray())
            .Should().BeEquivalentTo(w.ToStateDict().Select(kv => kv.Value.Span.ToArray()), o => o.WithStrictOrdering());
        processed.Weights.W_E.Should().NotBeSameAs(w.W_E);
    }
}
