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
    public static TheoryData<string?, bool, string> Cases()
    {
        var cases = new TheoryData<string?, bool, string>();
        foreach (var norm in new[] { null, "LN", "LNPre" })
        {
            foreach (var attnOnly in new[] { true, false })
            {
                foreach (var positions in new[] { "standard", "shortformer" })
                {
                    cases.Add(norm, attnOnly, positions);
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_training_forward_gives_the_inference_loss_and_patterns(string? norm, bool attnOnly, string positions)
    {
        // Each normalization has its own activation, so every activation runs with an MLP.
        var act = norm switch { null => "relu", "LN" => "gelu", _ => "gelu_new" };
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
