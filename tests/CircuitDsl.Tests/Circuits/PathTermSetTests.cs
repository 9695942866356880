using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// The paper's terms over <see cref="PathDecomposition"/>: each is the sum of the paths it names, together they are the
/// logits, and the per-term numbers (next-token logit, logit difference, share) add up to the model's.
/// </summary>
public sealed class PathTermSetTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];

    [Theory]
    [InlineData(Normalization.LN, false, false, 2)]
    [InlineData(Normalization.LN, true, false, 3)]
    [InlineData(Normalization.LNPre, false, true, 2)]
    [InlineData(Normalization.None, true, false, 0)]
    public void The_terms_sum_to_the_logits_the_next_token_logits_and_the_logit_differences(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var weights = Weights(norm, attnOnly, shortformer, layers);
        var paths = new PathTermSet(weights, Tokens);
        var logits = new HookedTransformer(weights).Forward(Tokens);

        var heads = layers * 2;
        var virtualHeads = layers * (layers - 1) / 2 * 4;
        var sources = layers * (attnOnly ? 1 : 2);
        paths.Terms.Select(t => t.Name).Should().OnlyHaveUniqueItems().And.HaveCount(1 + heads + virtualHeads + sources + 2);
        paths.Terms.Sum(t => t.Share).Should().BeApproximately(1, 1e-9);
        ShouldSumTo(paths.Terms.Select(t => t.Logits), logits);

        var nextToken = new Tensor(Tokens.Length, Tokens[0].Length - 1);
        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p + 1 < Tokens[b].Length; p++)
            {
                nextToken.Span[(b * (Tokens[b].Length - 1)) + p] = logits.Span[(((b * Tokens[b].Length) + p) * 11) + Tokens[b][p + 1]];
            }
        }

        ShouldSumTo(paths.Terms.Select(t => t.NextTokenLogit()), nextToken);

        var difference = new Tensor(Tokens.Length, Tokens[0].Length);
        for (var row = 0; row < difference.Length; row++)
        {
            difference.Span[row] = logits.Span[(row * 11) + 3] - logits.Span[(row * 11) + 8];
        }

        ShouldSumTo(paths.Terms.Select(t => t.LogitDifference(3, 8)), difference);
    }

    [Fact]
    public void A_heads_term_is_its_embed_and_pos_embed_paths_and_a_source_every_path_from_it()
    {
        var weights = Weights(Normalization.LN, attnOnly: false, shortformer: false, layers: 2);
        var paths = new PathTermSet(weights, Tokens);
        var decomposition = paths.Decomposition;

        var virtualHead = paths.Through(new HeadId(0, 1), new HeadId(1, 0));
        virtualHead.Name.Should().Be("L1H0_L0H1");
        virtualHead.Paths.Select(p => p.ToString()).Should().Equal("embed → 0.1 → 1.0", "pos_embed → 0.1 → 1.0");
        ShouldSumTo(virtualHead.Paths.Select(p => decomposition.Term(p).Logits), virtualHead.Logits);
        var shares = decomposition.Shares();
        virtualHead.Share.Should().BeApproximately(shares.Where(s => virtualHead.Paths.Contains(s.Id)).Sum(s => s.Share), 1e-12);

        paths.Direct.Name.Should().Be("direct");
        paths.Direct.Paths.Select(p => p.ToString()).Should().Equal("embed", "pos_embed");
        paths.Source(PathSource.Mlp(0)).Paths.Select(p => p.ToString()).Should().Equal("mlp0", "mlp0 → 1.0", "mlp0 → 1.1");
        paths.UnembedBias.Paths.Select(p => p.ToString()).Should().Equal("b_U");
        paths.Rest.Paths.Should().BeEmpty();
        paths.Rest.Logits.Span.ToArray().Should().OnlyContain(x => x == 0, "a 2-layer model has no path of three heads");
        paths.Through(new HeadId(1, 1)).Should().BeSameAs(paths.Through(new HeadId(1, 1)), "a term is summed once");
    }

    [Fact]
    public void Without_LayerNorm_the_direct_path_is_the_embeddings_through_the_unembedding()
    {
        var weights = Weights(Normalization.None, attnOnly: true, shortformer: false, layers: 1);
        var direct = new PathTermSet(weights, Tokens).Direct.Logits.Span;

        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p < Tokens[b].Length; p++)
            {
                for (var v = 0; v < 11; v++)
                {
                    double expected = 0;
                    for (var d = 0; d < 8; d++)
                    {
                        expected += (weights.W_E[Tokens[b][p]].Span[d] + weights.W_pos[p].Span[d]) * weights.W_U[d].Span[v];
                    }

                    direct[(((b * Tokens[b].Length) + p) * 11) + v].Should().BeApproximately((float)expected, 1e-4f);
                }
            }
        }
    }

    [Fact]
    public void With_shortformer_positions_a_heads_term_is_its_embed_path_alone()
    {
        var paths = new PathTermSet(Weights(Normalization.LN, attnOnly: true, shortformer: true, layers: 1), Tokens);

        paths.Through(new HeadId(0, 1)).Paths.Select(p => p.ToString()).Should().Equal("embed → 0.1");
    }

    [Fact]
    public void Terms_the_model_does_not_have_are_refused()
    {
        var paths = new PathTermSet(Weights(Normalization.LN, attnOnly: true, shortformer: false, layers: 2), Tokens);

        paths.Invoking(p => p.Through(new HeadId(1, 0), new HeadId(0, 1))).Should().Throw<ArgumentException>().WithMessage("No path embed → 1.0 → 0.1*");
        paths.Invoking(p => p.Through(new HeadId(0, 2))).Should().Throw<ArgumentException>().WithMessage("This decomposition lists no term embed → 0.2.*");
        paths.Invoking(p => p.Source(PathSource.Mlp(0))).Should().Throw<ArgumentException>().WithMessage("This model has no source mlp0.*");
        paths.Direct.Invoking(t => t.LogitDifference(11, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Removing_a_term_gives_the_loss_of_the_logits_built_from_every_other_term()
    {
        var weights = Weights(Normalization.LN, attnOnly: false, shortformer: false, layers: 2);
        var paths = new PathTermSet(weights, Tokens);
        var full = Losses.NextTokenCrossEntropy(new HookedTransformer(weights).Forward(Tokens), Tokens);

        paths.Decomposition.Loss().Should().BeApproximately(full, 1e-6, "the loss streamed out of the unembedding is the materialised logits' loss");
        foreach (var removed in paths.Terms)
        {
            var others = new Tensor(paths.Decomposition.Logits.Shape.ToArray());
            foreach (var term in paths.Terms.Where(t => t != removed))
            {
                for (var i = 0; i < others.Length; i++)
                {
                    others.Span[i] += term.Logits.Span[i];
                }
            }

            paths.RemovalLossChange(removed).Should().BeApproximately(Losses.NextTokenCrossEntropy(others, Tokens) - full, 1e-4, removed.Name);
        }

        var path = paths.Decomposition.Terms[3];
        paths.Decomposition.RemovalLossChange(path.Id).Should().BeApproximately(paths.Decomposition.RemovalLossChange(path.Logits), 1e-6,
            "streamed from the path's residual, or from its materialised logits");
        paths.RemovalLossChange(paths.Rest).Should().Be(0, "a two-layer model has no path of three heads, so removing the rest removes nothing");
    }

    [Fact]
    public void Without_its_direct_path_a_zero_layer_model_with_no_unembedding_bias_guesses_uniformly()
    {
        var weights = Weights(Normalization.None, attnOnly: true, shortformer: false, layers: 0);
        weights.b_U.Span.Clear();
        var paths = new PathTermSet(weights, Tokens);

        // The logits are the direct path alone: without it every logit is 0, and the loss is ln(d_vocab).
        paths.RemovalLossChange(paths.Direct).Should().BeApproximately(Math.Log(11) - paths.Decomposition.Loss(), 1e-6);
        paths.RemovalLossChange(paths.UnembedBias).Should().Be(0, "b_U is zero");
        paths.Decomposition.Invoking(d => d.RemovalLossChange(new Tensor(1, 6, 11))).Should().Throw<ArgumentException>().WithMessage("A term's logits are [1, 6, 11]*");
    }

    private static TransformerWeights Weights(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var config = RandomWeights.Config(layers: layers, heads: 2, dModel: 8, dHead: 3, vocab: 11, norm: norm, attnOnly: attnOnly) with
        {
            PositionalEmbeddingType = shortformer ? PositionalEmbedding.Shortformer : PositionalEmbedding.Standard,
        };
        return RandomWeights.Create(config, seed: 13, scale: 0.7f);
    }

    /// <summary>The terms sum to <paramref name="expected"/> within 1e-4 of its largest entry's size.</summary>
    private static void ShouldSumTo(IEnumerable<Tensor> terms, Tensor expected)
    {
        var sum = new double[expected.Length];
        foreach (var term in terms)
        {
            term.HasShape(expected.Shape.ToArray()).Should().BeTrue();
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += term.Span[i];
            }
        }

        var scale = Math.Max(1, expected.Span.ToArray().Max(Math.Abs));
        for (var i = 0; i < sum.Length; i++)
        {
            sum[i].Should().BeApproximately(expected.Span[i], 1e-4 * scale, $"entry {i}");
        }
    }
}
