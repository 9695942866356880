using CircuitDsl.Reports;

namespace CircuitDsl.Specs;

/// <summary>
/// Claims that are deliberately false, so that the checks are seen to say no: a spec whose every hypothesis held no
/// matter what would prove nothing. The spec tests assert that each of these is measured and fails on every seed.
/// </summary>
[Circuit(typeof(Induction2L), Paper = "Two-Layer Attention-Only Transformers")]
public static partial class FalseClaims
{
    /// <summary>
    /// FALSE: a layer-0 head is an induction head (the strongest layer-0 induction head scores at least 0.5). It cannot
    /// be: attending to "the token after the earlier copy of mine" needs to know, at that key, which token came before
    /// it, which only an earlier head can write there (K-composition). Layer 0 has no earlier head, so its heads score
    /// near zero on the induction detector.
    /// </summary>
    [InductionHead("0.induction", AtLeast = 0.5, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence LayerZeroInductionHead(Induction2L model);

    /// <summary>
    /// FALSE: the strongest induction head reads its values from the previous-token head (V-composition at 3 times
    /// chance). It moves the attended token itself, so this composition stays near chance.
    /// </summary>
    [Composes("1.induction", Via = CompositionKind.V, From = "0.previous-token", AtLeast = 3, InBaselineUnits = true,
              Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence InductionHeadReadsValuesFromPreviousTokenHead(Induction2L model);

    /// <summary>
    /// FALSE: no layer-0 head is a previous-token head (the strongest one's previous-token score is at most 0.5). Every
    /// seed has one, so this upper bound is measured and fails.
    /// </summary>
    [PreviousTokenHead("0.previous-token", AtMost = 0.5, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence PreviousTokenHeadIsNot(Induction2L model);
}
