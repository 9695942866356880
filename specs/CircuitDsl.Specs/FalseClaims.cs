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

    /// <summary>
    /// FALSE: the paths through no head recover half the loss on repeated sequences. Random tokens have no bigram
    /// statistics, so the direct path recovers nothing.
    /// </summary>
    [TermImportance(Order = 0, Recovers = 0.5, Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence DirectPathRecoversHalf(Induction2L model);

    /// <summary>
    /// FALSE: the single heads recover at most half the loss, so the virtual heads would carry the rest. They recover
    /// nearly all of it.
    /// </summary>
    [TermImportance(Order = 1, RecoversAtMost = 0.5, Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence VirtualHeadsAreNeeded(Induction2L model);

    /// <summary>
    /// FALSE: the virtual head 1.3 through the previous-token head raises the next token's logit by half a unit. The
    /// induction head reads 0.2 through its keys, not its values, so this path moves next to nothing.
    /// </summary>
    [VirtualHead("1.3", Through = "0.2", Measure = PathMeasure.NextTokenLogit, AtLeast = 0.5,
                 Paper = "Two-Layer Attention-Only Transformers: Virtual Attention Heads")]
    public static partial Evidence VirtualHeadThroughPreviousTokenHeadPredicts(Induction2L model);

    /// <summary>
    /// FALSE: on our own prompts, phrases said <c>3</c> times over (<c>data/prompts.json</c>), the previous-token head
    /// hardly matters: mean-ablating it raises the loss by at most 0.1 nats. Without it no induction head finds the
    /// token after the earlier copy, and the repeats are lost.
    /// </summary>
    [Ablation("0.previous-token", Data = "data/prompts.json", RaisesLossByAtMost = 0.1,
              Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence PreviousTokenHeadIsNotNeededOnOwnPrompts(Induction2L model);
}

/// <summary>Deliberately false claims about the zero-layer model's one path.</summary>
[Circuit(typeof(Bigram0L), Paper = "Zero-Layer Transformers")]
public static partial class FalseZeroLayerClaims
{
    /// <summary>FALSE: the unembedding's constant carries half the logits. The direct path carries nearly all of them.</summary>
    [PathTerm("b_U", AtLeast = 0.5, Paper = "Zero-Layer Transformers")]
    public static partial Evidence ConstantCarriesHalf(Bigram0L model);

    /// <summary>FALSE: the direct path does not raise the next token's logit (at most 0.5 on average). It is the bigram table.</summary>
    [PathTerm("direct", Measure = PathMeasure.NextTokenLogit, AtMost = 0.5, Paper = "Zero-Layer Transformers")]
    public static partial Evidence DirectPathDoesNotPredict(Bigram0L model);
}

/// <summary>Deliberately false claims about the one-layer model's path expansion.</summary>
[Circuit(typeof(SkipTrigram1L), Paper = "One-Layer Attention-Only Transformers")]
public static partial class FalseOneLayerClaims
{
    /// <summary>FALSE: the direct path carries half the logits of a one-layer model. The heads' terms carry most.</summary>
    [PathTerm("direct", AtLeast = 0.5, Paper = "One-Layer Attention-Only Transformers: The Path Expansion")]
    public static partial Evidence DirectPathCarriesHalf(SkipTrigram1L model);

    /// <summary>FALSE: head 0.2's skip-trigram term does not move the next token's logit (at most 0.1 on average) on any seed.</summary>
    [PathTerm("0.2", Measure = PathMeasure.NextTokenLogit, AtMost = 0.1, Paper = "One-Layer Attention-Only Transformers: Skip-Trigrams")]
    public static partial Evidence Head02DoesNotPredict(SkipTrigram1L model);
}
