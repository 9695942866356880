using CircuitDsl.Reports;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>A two-layer attention-only model without LayerNorm, whose path expansion is exact.</summary>
[Transformer(NLayers = 2, NHeads = 2, DModel = 16, DHead = 4, DVocab = 12, NCtx = 10,
             AttnOnly = true, NormalizationType = Normalization.None)]
public sealed partial class Tiny2L;

/// <summary>A two-layer model with LayerNorm and MLPs: its path expansion holds on given tokens.</summary>
[Transformer(NLayers = 2, NHeads = 2, DModel = 16, DHead = 4, DVocab = 12, NCtx = 10, DMlp = 32,
             ActFn = ActivationFunction.Gelu, NormalizationType = Normalization.LN)]
public sealed partial class TinyLn2L;

/// <summary>An induction circuit, stated against <see cref="Tiny2L"/>.</summary>
[Circuit(typeof(Tiny2L), Paper = "Induction Heads")]
public static partial class TinyInduction
{
    /// <summary>Head <c>0.1</c> attends to the previous token.</summary>
    [PreviousTokenHead("0.1", AtLeast = 0.5)]
    public static partial Evidence PreviousToken(Tiny2L model);

    /// <summary>Head 1.0 reads its keys from what 0.1 wrote, at least twice chance.</summary>
    [Composes("1.0", Via = CompositionKind.K, From = "0.1", AtLeast = 2, InBaselineUnits = true)]
    public static partial Evidence KComposition(Tiny2L model);

    /// <summary>Head 1.0 is an induction head.</summary>
    [InductionHead("1.0", AtLeast = 0.5)]
    public static partial Evidence Induction(Tiny2L model);
}
