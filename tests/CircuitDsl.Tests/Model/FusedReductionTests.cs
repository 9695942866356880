using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Circuits;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Model;

/// <summary>
/// The reductions <see cref="Losses"/> computes straight out of the unembedding by row blocks (float logits, vectorised
/// exp, a double accumulator, in parallel) against a float64 reference on the materialised logits of the same model.
/// </summary>
public sealed class FusedReductionTests
{
    /// <summary>The loss of each predicting position in float64 from the logits: max, Σ exp(v − max) and the log in double.</summary>
    private static double[] ReferenceLosses(Tensor logits, int[][] tokens)
    {
        int pos = logits.Dim(1), vocab = logits.Dim(2);
        var losses = new List<double>();
        for (var b = 0; b < tokens.Length; b++)
        {
            for (var p = 0; p + 1 < pos; p++)
            {
                var row = logits.Span.Slice(((b * pos) + p) * vocab, vocab).ToArray().Select(v => (double)v).ToArray();
                var max = row.Max();
                losses.Add(max + Math.Log(row.Sum(v => Math.Exp(v - max))) - row[tokens[b][p + 1]]);
            }
        }

        return [.. losses];
    }

    private static int[][] Tokens(int sequences, int length, int vocab, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, sequences).Select(_ => Enumerable.Range(0, length).Select(_ => rng.Next(vocab)).ToArray())];
    }

    /// <summary>
    /// Loss, per-position losses and accuracy of the model against the float64 reference on its logits, to 1e-6
    /// relative; every value finite.
    /// </summary>
    private static void MatchesReference(HookedTransformer model, int[][] tokens)
    {
        var logits = model.Forward(tokens);
        var expected = ReferenceLosses(logits, tokens);

        var mean = Losses.NextTokenCrossEntropy(model, tokens);
        var perToken = Losses.PerTokenCrossEntropy(model, tokens).Span.ToArray();
        var materialised = Losses.PerTokenCrossEntropy(logits, tokens).Span.ToArray();

        double.IsFinite(mean).Should().BeTrue();
        mean.Should().BeApproximately(expected.Average(), 1e-6 * Math.Abs(expected.Average()));
        perToken.Should().HaveCount(expected.Length);
        for (var r = 0; r < expected.Length; r++)
        {
            // Each position's loss is stored as a float: 1e-6 of it, or a few float ulps of the logits' scale when it is tiny.
            var tolerance = (1e-6 * Math.Abs(expected[r])) + 1e-6;
            ((double)perToken[r]).Should().BeApproximately(expected[r], tolerance, $"fused, position {r}");
            ((double)materialised[r]).Should().BeApproximately(expected[r], tolerance, $"materialised, position {r}");
        }

        int pos = logits.Dim(1), vocab = logits.Dim(2);
        var hits = 0;
        for (var b = 0; b < tokens.Length; b++)
        {
            for (var p = 0; p + 1 < pos; p++)
            {
                var row = logits.Span.Slice(((b * pos) + p) * vocab, vocab).ToArray();
                hits += Array.IndexOf(row, row.Max()) == tokens[b][p + 1] ? 1 : 0;
            }
        }

        Losses.NextTokenAccuracy(model, tokens).Should().BeApproximately((double)hits / expected.Length, 1e-12);
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(30f)]
    public void Random_models_match_the_float64_reference(float scale)
    {
        // 3 × 63 predicting positions × d_model 32 × d_vocab 1,000: row blocks of 128 unembedded on every core.
        var config = RandomWeights.Config(dModel: 32, dHead: 8, vocab: 1000, ctx: 64, norm: Normalization.LN, attnOnly: false);
        var model = new HookedTransformer(RandomWeights.Create(config, seed: 21, scale: scale));

        MatchesReference(model, Tokens(3, 64, 1000, 22));
    }

    [Fact]
    public void A_trained_model_matches_the_float64_reference()
    {
        // A short run of the repeated-tokens recipe: confident predictions on the second half, near-uniform on the first.
        var config = new ModelConfig
        {
            NLayers = 2, NHeads = 2, DModel = 32, DHead = 16, DVocab = 64, NCtx = 32, AttnOnly = true,
            NormalizationType = Normalization.LN, PositionalEmbeddingType = PositionalEmbedding.Standard,
        };
        var options = TrainingOptions.Recommended("repeated-tokens", config, seed: 4) with { Steps = 150, BatchSize = 8, WarmupSteps = 20 };
        var model = new HookedTransformer(Trainer.Train(config, options));
        var half = Tokens(4, 16, 64, 23);

        MatchesReference(model, [.. half.Select(h => h.Concat(h).ToArray())]);
    }

    [Theory]
    [InlineData(1e4f)]
    [InlineData(1e-20f)]
    public void Huge_and_tiny_logits_neither_overflow_nor_lose_the_reference(float unembedScale)
    {
        // W_U scaled so that the logits span ±10^4 or so (exp overflows float and double without the max shift) or are
        // all below 1e-19 (every probability 1/d_vocab to within float rounding).
        var config = RandomWeights.Config(dModel: 16, dHead: 4, vocab: 300, ctx: 24, norm: Normalization.LN, attnOnly: true);
        var weights = RandomWeights.Create(config, seed: 24, scale: 1f);
        TensorPrimitives.Multiply(weights.W_U.Span, unembedScale, weights.W_U.Span);
        TensorPrimitives.Multiply(weights.b_U.Span, unembedScale, weights.b_U.Span);
        var model = new HookedTransformer(weights);
        var tokens = Tokens(2, 24, 300, 25);
        var logits = model.Forward(tokens).Span;
        var largest = Math.Abs(TensorPrimitives.MaxMagnitude(logits));
        (unembedScale > 1 ? largest > 1000 : largest < 1e-18).Should().BeTrue($"the logits reach {largest}");

        MatchesReference(model, tokens);
    }

    [Fact]
    public void The_logit_difference_is_the_difference_of_the_logits()
    {
        var config = RandomWeights.Config(dModel: 24, dHead: 6, vocab: 50, ctx: 20, norm: Normalization.LNPre, attnOnly: false);
        var model = new HookedTransformer(RandomWeights.Create(config, seed: 26, scale: 1f));
        var tokens = Tokens(3, 20, 50, 27);
        var logits = model.Forward(tokens);

        var difference = Losses.LogitDifference(model, tokens, 7, 31);

        difference.Shape.ToArray().Should().Equal(3, 20);
        for (var r = 0; r < difference.Length; r++)
        {
            double a = logits.Span[(r * 50) + 7], b = logits.Span[(r * 50) + 31];
            // The logits themselves carry float rounding of their own size; the difference is computed in double from the residual.
            ((double)difference.Span[r]).Should().BeApproximately(a - b, 1e-6 * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b))));
        }

        var act = () => Losses.LogitDifference(model, tokens, 50, 0);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Hooks_reach_the_fused_loss()
    {
        var config = RandomWeights.Config(norm: Normalization.LN, attnOnly: true);
        var model = new HookedTransformer(RandomWeights.Create(config, seed: 28, scale: 1f));
        int[][] tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];
        var hooks = Ablation.Hooks(config, [new HeadId(1, 0)], AblationKind.Zero, null);

        var expected = ReferenceLosses(model.Forward(tokens, hooks), tokens).Average();

        Losses.NextTokenCrossEntropy(model, tokens, hooks).Should().BeApproximately(expected, 1e-6 * expected);
        Losses.NextTokenCrossEntropy(model, tokens).Should().NotBeApproximately(expected, 1e-3 * expected);
    }
}
