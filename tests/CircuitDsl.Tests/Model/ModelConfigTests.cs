using CircuitDsl.Model;

namespace CircuitDsl.Tests.Model;

/// <summary>
/// <see cref="ModelConfig.Problems"/> on enum values that no config.json spelling gives (casts in code), and checking a
/// config against the architecture a <c>[Transformer]</c> class declares (<see cref="ModelConfig.DescribeMismatch"/>).
/// </summary>
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

    private static readonly ModelConfig TwoLayers = new()
    {
        NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true, NormalizationType = Normalization.LN,
    };

    [Fact]
    public void A_matching_config_has_no_mismatch()
    {
        (TwoLayers with { Seed = 7 }).DescribeMismatch(TwoLayers, "Induction2L").Should().BeNull("the seed is not part of the architecture");
    }

    [Fact]
    public void Each_mismatched_field_is_named_with_both_values_in_declaration_order()
    {
        var actual = TwoLayers with { NHeads = 8, DVocab = 50, AttnOnly = false, DMlp = 256, ActFn = ActivationFunction.Gelu, NormalizationType = Normalization.None };

        actual.DescribeMismatch(TwoLayers, "Induction2L").Should().Be(
            "the config does not match [Transformer] on Induction2L: n_heads is 8 but Induction2L declares 4; "
            + "d_vocab is 50 but Induction2L declares 64; attn_only is false but Induction2L declares true; "
            + "normalization_type is null but Induction2L declares \"LN\". To load this folder, declare [Transformer(NLayers = 2, "
            + "NHeads = 8, DModel = 64, DHead = 16, DVocab = 50, NCtx = 64, DMlp = 256, NormalizationType = Normalization.None)].");
    }

    [Fact]
    public void Only_the_fields_the_declared_architecture_uses_are_compared()
    {
        var zeroLayers = new ModelConfig { NLayers = 0, DModel = 32, DVocab = 50, NCtx = 16, AttnOnly = true };
        (zeroLayers with { NHeads = 3, DHead = 5, AttnOnly = false }).DescribeMismatch(zeroLayers, "Bigram0L").Should().BeNull(
            "a model without blocks has no heads or MLPs to compare");

        var mlp = TwoLayers with { AttnOnly = false, DMlp = 256, ActFn = ActivationFunction.Gelu };
        (mlp with { DMlp = 128, ActFn = ActivationFunction.Relu }).DescribeMismatch(mlp, "Mlp2L").Should().Be(
            "the config does not match [Transformer] on Mlp2L: d_mlp is 128 but Mlp2L declares 256; act_fn is \"relu\" but Mlp2L declares \"gelu\". "
            + "To load this folder, declare [Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, DMlp = 128, "
            + "ActFn = ActivationFunction.Relu)].");
    }
}
