using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Circuits;

namespace CircuitDsl.Tests.Model;

/// <summary>
/// <see cref="Losses.TopPredictions(HookedTransformer, int[][], int, HookSet?)"/>, made straight out of the unembedding by
/// row blocks, against the same reduction of the materialised logits of <see cref="HookedTransformer.Forward"/>: a sort
/// of each row by logit, largest first, the lower token first among equals; and the first non-finite logit against a scan
/// of those logits in <c>[sequence, position, vocab]</c> order.
/// </summary>
public sealed class TopPredictionsTests
{
    private static int[][] Tokens(int sequences, int length, int vocab, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, sequences).Select(_ => Enumerable.Range(0, length).Select(_ => rng.Next(vocab)).ToArray())];
    }

    /// <summary>Each row's <paramref name="count"/> largest logits by sorting it: largest first, the lower token first among equals.</summary>
    private static int[] Sorted(float[] row, int count) =>
        [.. Enumerable.Range(0, row.Length).OrderByDescending(v => row[v]).ThenBy(v => v).Take(count)];

    /// <summary>
    /// The top predictions equal the sorted materialised logits'. The two computations split the unembedding product
    /// differently, and a backend may round each split's floats differently in the last bits (OpenBLAS does), so a
    /// logit matches to float rounding of the row's scale, and two tokens may trade places only when their logits are
    /// equal to that rounding.
    /// </summary>
    private static void MatchesSortedLogits(HookedTransformer model, int[][] tokens, int count, int rowBlock)
    {
        var logits = model.Forward(tokens);
        var top = Losses.TopPredictions(model, tokens, count, null, rowBlock);

        int pos = tokens[0].Length, vocab = logits.Dim(2);
        top.Should().HaveCount(tokens.Length);
        for (var b = 0; b < tokens.Length; b++)
        {
            top[b].Should().HaveCount(pos);
            for (var p = 0; p < pos; p++)
            {
                var row = logits.Span.Slice(((b * pos) + p) * vocab, vocab).ToArray();
                var expected = Sorted(row, count);
                var tolerance = 1e-5 * Math.Abs(TensorPrimitives.MaxMagnitude(row));
                var got = top[b][p];
                got.Select(t => t.Token).Should().OnlyHaveUniqueItems().And.HaveCount(expected.Length, $"sequence {b}, position {p}");
                for (var r = 0; r < expected.Length; r++)
                {
                    var because = $"sequence {b}, position {p}, rank {r}";
                    ((double)got[r].Logit).Should().BeApproximately(row[expected[r]], tolerance, because);
                    if (got[r].Token != expected[r])
                    {
                        ((double)row[got[r].Token]).Should().BeApproximately(row[expected[r]], tolerance, because + ": only a near tie may reorder");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(16, 2500, 300, 7, 64, 1f)]
    [InlineData(24, 2049, 100, 12, 512, 1f)]
    [InlineData(8, 700, 40, 30, 96, 1f)]
    [InlineData(16, 2500, 300, 4, 128, 1e4f)]
    [InlineData(16, 2500, 300, 4, 128, 1e-20f)]
    public void Random_models_give_the_top_three_of_the_materialised_logits(int dModel, int vocab, int length, int sequences, int rowBlock, float unembedScale)
    {
        // Groups of ⌊1024 / length⌋ sequences through the forward pass, blocks of rowBlock rows (spanning sequences),
        // vocabularies past one 2,048-entry chunk and not a multiple of it; W_U scaled so that the logits reach ±10^4
        // or stay below 1e-19.
        var config = RandomWeights.Config(dModel: dModel, dHead: dModel / 4, vocab: vocab, ctx: length, norm: Normalization.LN, attnOnly: false);
        var weights = RandomWeights.Create(config, seed: vocab + length, scale: 1f);
        TensorPrimitives.Multiply(weights.W_U.Span, unembedScale, weights.W_U.Span);
        TensorPrimitives.Multiply(weights.b_U.Span, unembedScale, weights.b_U.Span);

        MatchesSortedLogits(new HookedTransformer(weights), Tokens(sequences, length, vocab, 31), 3, rowBlock);
    }

    [Fact]
    public void Equal_logits_put_the_lower_token_first_across_vocabulary_chunks()
    {
        // Tokens 2100, 100, 2049 and 2400 have zero columns of W_U and the same large bias: at every position their logits
        // are exactly 50 (the largest), four equal ones in two vocabulary chunks, of which the three lowest are kept.
        var config = RandomWeights.Config(dModel: 16, dHead: 4, vocab: 2500, ctx: 60, norm: Normalization.LN, attnOnly: true);
        var weights = RandomWeights.Create(config, seed: 32, scale: 1f);
        foreach (var token in new[] { 2100, 100, 2049, 2400 })
        {
            for (var i = 0; i < 16; i++)
            {
                weights.W_U.Span[(i * 2500) + token] = 0;
            }

            weights.b_U.Span[token] = 50;
        }

        var model = new HookedTransformer(weights);
        var tokens = Tokens(20, 60, 2500, 33);
        var top = Losses.TopPredictions(model, tokens, 3, null, 100);

        top.SelectMany(s => s).Should().AllSatisfy(row => row.Should().Equal(new Prediction(100, 50), new Prediction(2049, 50), new Prediction(2100, 50)));
        Losses.TopPredictions(model, tokens, 5, null, 100).SelectMany(s => s).Should().AllSatisfy(row =>
            row.Select(t => t.Token).Should().StartWith([100, 2049, 2100, 2400]));
        MatchesSortedLogits(model, tokens, 5, 100);
    }

    [Fact]
    public void A_zero_unembedding_ranks_the_first_tokens_and_a_small_vocabulary_gives_all_of_it()
    {
        var weights = RandomWeights.Create(RandomWeights.Config(vocab: 2), seed: 34);
        weights.W_U.Span.Clear();
        weights.b_U.Span.Clear();

        var top = Losses.TopPredictions(new HookedTransformer(weights), [[1, 0, 1], [0, 0, 1]], 3);

        top.SelectMany(s => s).Should().HaveCount(6).And.AllSatisfy(row => row.Should().Equal(new Prediction(0, 0), new Prediction(1, 0)));
        var act = () => Losses.TopPredictions(new HookedTransformer(weights), [[1, 0]], 0);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(-100f, 1e38f, 100, float.NegativeInfinity)]
    [InlineData(100f, 1e38f, 100, float.PositiveInfinity)]
    [InlineData(0.5f, float.NaN, 0, float.NaN)]
    public void The_first_non_finite_logit_is_the_one_a_scan_of_the_materialised_logits_finds(float weight, float residual, int token, float value)
    {
        // The final residual of (sequence 1, position 5) and of (2, 0) is hooked to (residual, 0, …, 0), and W_U's first
        // row holds weight at token 100 and 100 at token 2300: with 1e38 a −∞ or +∞ logit at 100, in the first vocabulary
        // chunk, before a +∞ one in the second; with NaN every logit NaN. A −∞ logit is refused too (the loss would take
        // it for a probability of 0): the table prints every position's logits.
        var config = RandomWeights.Config(dModel: 16, dHead: 4, vocab: 2500, ctx: 12, norm: Normalization.LN, attnOnly: true);
        var weights = RandomWeights.Create(config, seed: 35, scale: 1f);
        (weights.W_U.Span[100], weights.W_U.Span[2300]) = (weight, 100f);
        var hooks = new HookSet().Add(HookNames.FinalNormalized, x =>
        {
            foreach (var row in new[] { (1 * 12) + 5, (2 * 12) + 0 })
            {
                x.Span.Slice(row * 16, 16).Clear();
                x.Span[row * 16] = residual;
            }
        });
        var model = new HookedTransformer(weights);
        var tokens = Tokens(3, 12, 2500, 36);

        var logits = model.Forward(tokens, hooks).Span;
        var flat = 0;
        while (float.IsFinite(logits[flat]))
        {
            flat++;
        }

        var act = () => Losses.TopPredictions(model, tokens, 3, hooks);

        var error = act.Should().Throw<NonFiniteLogitException>().Which;
        (error.Sequence, error.Position, error.Token).Should().Be((flat / 2500 / 12, flat / 2500 % 12, flat % 2500));
        (error.Sequence, error.Position, error.Token).Should().Be((1, 5, token));
        error.Value.Should().Be(logits[flat]).And.Be(value);
    }
}
