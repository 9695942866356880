using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Circuits;

namespace CircuitDsl.Tests.Model;

public sealed class LossesTests
{
    [Fact]
    public void Cross_entropy_is_the_mean_negative_log_probability_of_each_next_token()
    {
        // Two sequences of three positions over a vocabulary of two; the last position predicts nothing.
        var logits = new Tensor(new[] { 0f, 0f, 2f, 0f, 9f, 9f, 1f, -1f, 0f, 3f, 5f, 5f }, 2, 3, 2);
        int[][] tokens = [[0, 1, 0], [1, 0, 1]];
        static double Nll(double chosen, double other) => -Math.Log(Math.Exp(chosen) / (Math.Exp(chosen) + Math.Exp(other)));
        double[] expected = [Nll(0, 0), Nll(2, 0), Nll(1, -1), Nll(3, 0)];

        var perToken = Losses.PerTokenCrossEntropy(logits, tokens);
        var mean = Losses.NextTokenCrossEntropy(logits, tokens);

        perToken.Shape.ToArray().Should().Equal(2, 2);
        perToken.Span.ToArray().Select(x => (double)x).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-6);
        mean.Should().BeApproximately(expected.Average(), 1e-6);
    }

    [Fact]
    public void Huge_logits_do_not_overflow()
    {
        var logits = new Tensor(new[] { 1e30f, 0f, 1e30f, 0f }, 1, 2, 2);

        Losses.NextTokenCrossEntropy(logits, [[0, 1]]).Should().BeApproximately(1e30, 1e24);
    }

    public static TheoryData<Normalization, bool, PositionalEmbedding> Architectures()
    {
        var data = new TheoryData<Normalization, bool, PositionalEmbedding>();
        foreach (var norm in new[] { Normalization.LN, Normalization.LNPre, Normalization.None })
        {
            foreach (var attnOnly in new[] { true, false })
            {
                foreach (var positions in new[] { PositionalEmbedding.Standard, PositionalEmbedding.Shortformer })
                {
                    data.Add(norm, attnOnly, positions);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void The_loss_straight_from_the_unembedding_is_the_loss_of_the_logits(Normalization norm, bool attnOnly, PositionalEmbedding positions)
    {
        var config = RandomWeights.Config(norm: norm, attnOnly: attnOnly) with { PositionalEmbeddingType = positions };
        var model = new HookedTransformer(RandomWeights.Create(config, seed: 5, scale: 1f));
        int[][] tokens = [[1, 4, 2, 9, 4, 0, 3, 8, 8], [7, 7, 5, 10, 1, 2, 8, 0, 6], [0, 3, 3, 6, 2, 9, 10, 1, 5]];
        var expected = Losses.NextTokenCrossEntropy(model.Forward(tokens), tokens);

        // 24 predicting positions: one block, blocks of 5 (the last of 4, blocks spanning two sequences), one per position.
        foreach (var rowBlock in new[] { Losses.RowBlock, 5, 1 })
        {
            Losses.NextTokenCrossEntropy(model, tokens, rowBlock).Should().BeApproximately(expected, 1e-5 * expected, $"blocks of {rowBlock}");
        }
    }

    [Fact]
    public void Blocks_unembedded_in_parallel_give_the_loss_of_the_logits()
    {
        // 3 × 39 predicting positions × d_model 32 × d_vocab 1,000 is enough work for the parallel path; 117 = 4 · 27 + 9.
        var config = RandomWeights.Config(dModel: 32, dHead: 8, vocab: 1000, ctx: 40, norm: Normalization.LN, attnOnly: false);
        var model = new HookedTransformer(RandomWeights.Create(config, seed: 6));
        var rng = new Random(7);
        var tokens = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 40).Select(_ => rng.Next(1000)).ToArray()).ToArray();

        var expected = Losses.NextTokenCrossEntropy(model.Forward(tokens), tokens);

        Losses.NextTokenCrossEntropy(model, tokens, 27).Should().BeApproximately(expected, 1e-5 * expected);
    }

    [Fact]
    public void A_zero_unembedding_predicts_every_token_uniformly()
    {
        var weights = RandomWeights.Create(RandomWeights.Config(norm: Normalization.LN, attnOnly: false), seed: 8);
        weights.W_U.Span.Clear();
        weights.b_U.Span.Clear();

        var loss = Losses.NextTokenCrossEntropy(new HookedTransformer(weights), [[1, 4, 2, 9, 4], [7, 7, 5, 10, 1]]);

        // Every logit is 0, so every probability is 1/d_vocab; the exponentials are float, exp(0) within an ulp of 1.
        loss.Should().BeApproximately(Math.Log(weights.Config.DVocab), 1e-6);
    }

    [Fact]
    public void An_overflowing_unembedding_is_refused_at_its_first_row()
    {
        // Whether a given logit of Σ x_i · 3e38 overflows depends on the kernel's order of summation (a fused
        // multiply-add may cancel what a rounded product would not), so only the row is certain here.
        var weights = RandomWeights.Create(RandomWeights.Config(), seed: 9);
        weights.W_U.Span.Fill(3e38f);
        weights.b_U.Span.Clear();

        var act = () => Losses.NextTokenCrossEntropy(new HookedTransformer(weights), [[1, 2, 3], [4, 5, 6]]);

        var error = act.Should().Throw<NonFiniteLogitException>().Which;
        (error.Sequence, error.Position).Should().Be((0, 0));
        float.IsFinite(error.Value).Should().BeFalse();
    }

    [Fact]
    public void A_non_finite_logit_is_named_first_in_vocabulary_order()
    {
        var weights = RandomWeights.Create(RandomWeights.Config(), seed: 9);
        weights.b_U.Span[7] = float.NaN;
        weights.b_U.Span[4] = float.PositiveInfinity;

        var act = () => Losses.NextTokenCrossEntropy(new HookedTransformer(weights), [[1, 2, 3], [4, 5, 6]]);

        var error = act.Should().Throw<NonFiniteLogitException>().Which;
        (error.Sequence, error.Position, error.Token, error.Value).Should().Be((0, 0, 4, float.PositiveInfinity));
    }

    [Fact]
    public void Sequences_of_one_token_have_no_loss()
    {
        var model = new HookedTransformer(RandomWeights.Create(RandomWeights.Config(), seed: 10));

        var act = () => Losses.NextTokenCrossEntropy(model, [[1], [2]]);

        act.Should().Throw<ArgumentException>().WithMessage("Sequences of one token predict nothing*");
    }
}
