using CircuitDsl.Reports;

namespace CircuitDsl.Specs;

/// <summary>
/// Claims that are deliberately false, so that the checks are seen to say no: a spec whose every hypothesis held no
/// matter what would prove nothing. The spec tests assert that each of these is measured and fails.
/// </summary>
[Circuit(typeof(Induction2L), Paper = "Two-Layer Attention-Only Transformers")]
public static partial class FalseClaims
{
    /// <summary>
    /// FALSE: a layer-0 head is an induction head. It cannot be: attending to "the token after the earlier copy of
    /// mine" needs to know, at that key, which token came before it, which only an earlier head can write there
    /// (K-composition). A one-layer model has no earlier head, so its heads score near zero on the induction detector.
    /// </summary>
    [InductionHead("0.2", AtLeast = 0.5, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence LayerZeroInductionHead(Induction2L model);

    /// <summary>
    /// FALSE: the induction head reads its values from the previous-token head (V-composition at three times chance).
    /// It moves the attended token itself, so this composition stays near chance.
    /// </summary>
    [Composes("1.3", Via = CompositionKind.V, From = "0.2", AtLeast = 3, InBaselineUnits = true,
              Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence InductionHeadReadsValuesFromPreviousTokenHead(Induction2L model);

    /// <summary>
    /// FALSE: head 0.2 is not a previous-token head (its previous-token score is at most one half). It is the circuit's
    /// previous-token head, so this upper bound is measured and fails.
    /// </summary>
    [PreviousTokenHead("0.2", AtMost = 0.5, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence PreviousTokenHeadIsNot(Induction2L model);
}
