using CircuitDsl.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Training;

/// <summary>
/// The training pass's forward is inference's: on the same weights and tokens its loss and attention patterns are
/// <see cref="HookedTransformer"/>'s, for each normalization, attention-only and with an MLP, standard and
/// shortformer positions.
/// </summary>
public sealed class TrainingForwardTests
{
    public static TheoryData<Normalization, bool, PositionalEmbedding> Cases()
    {
        var cases = new TheoryData<Normalization, bool, PositionalEmbedding>();
        foreach (var norm in Enum.GetValues<Normalization>())
        {
            foreach (var attnOnly in new[] { true, false })
            {
                foreach (var positions in Enum.GetValues<PositionalEmbedding>())
                {
                    cases.Add(norm, attnOnly, positions);
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_training_forward_gives_the_inference_loss_and_patterns(Normalization norm, bool attnOnly, PositionalEmbedding positions)
    {
        // Each normalization has its own activation, so every activation runs with an MLP.
        var act = norm switch { Normalization.None => ActivationFunction.Relu, Normalization.LN => ActivationFunction.Gelu, _ => ActivationFunction.GeluNew };
        var config = new ModelConfig
        {
            NLayers = 2, NHeads = 3, DModel = 12, DHead = 4, DVocab = 11, NCtx = 9, AttnOnly = attnOnly,
            DMlp = attnOnly ? null : 20, ActFn = attnOnly ? null : act, NormalizationType = norm, PositionalEmbeddingType = positions,
        };
        var weights = GradientTests.RandomWeights(config, seed: 3);
        var tokens = GradientTests.RandomTokens(config.DVocab, sequences: 4, length: 8, seed: 5);

        var pass = new TrainingPass(config);
        var trainingLoss = pass.Forward(weights, tokens) / pass.PredictedTokens;

        // Forward takes the fused attention path; RunWithCache, which keeps the patterns, the materialized one.
        var model = new HookedTransformer(weights);
        var inferenceLoss = Losses.NextTokenCrossEntropy(model.Forward(tokens), tokens);
        trainingLoss.Should().BeApproximately(inferenceLoss, 1e-5 * inferenceLoss, "both run the same kernels");
        var (_, cache) = model.RunWithCache(tokens, name => name.EndsWith("hook_pattern", StringComparison.Ordinal));
        for (var layer = 0; layer < config.NLayers; layer++)
        {
            var expected = cache.Pattern(layer).Span.ToArray();
            var actual = pass.Pattern(layer).Span.ToArray();
            actual.Should().HaveSameCount(expected);
            for (var i = 0; i < expected.Length; i++)
            {
                actual[i].Should().BeApproximately(expected[i], 1e-6f, $"layer {layer} pattern entry {i}");
            }
        }
    }
}
