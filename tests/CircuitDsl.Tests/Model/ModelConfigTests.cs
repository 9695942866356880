using CircuitDsl.Model;

namespace CircuitDsl.Tests.Model;

/// <summary><see cref="ModelConfig.Problems"/> on enum values that no config.json spelling gives (casts in code).</summary>
public sealed class ModelConfigTests
{
    private static readonly ModelConfig Valid = new()
    {
        NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 11, NCtx = 6, DMlp = 16, ActFn = ActivationFunction.Relu,
    };

    [Fact]
    public void A_valid_config_has_no_problems() => Valid.Problems().Should().BeEmpty();

    [Fact]
    public void Undefined_enum_values_are_named_with_the_spellings_allowed()
    {
        var config = Valid with
        {
            ActFn = (ActivationFunction)9, NormalizationType = (Normalization)7, PositionalEmbeddingType = (PositionalEmbedding)8,
        };

        config.Problems().Should().Equal(
            "act_fn must be gelu, gelu_new or relu (got 9).",
            "normalization_type must be LN, LNPre or null (got 7).",
            "positional_embedding_type must be standard or shortformer (got 8).");
    }
}
