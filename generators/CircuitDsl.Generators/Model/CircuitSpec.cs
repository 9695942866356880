namespace CircuitDsl.Generators.Model;

/// <summary>The hypothesis attributes, named as the attribute classes are without their suffix.</summary>
internal enum HypothesisKind
{
    PreviousTokenHead,
    DuplicateTokenHead,
    InductionHead,
    CopyingHead,
    Composes,
    Ablation,
    Faithfulness,
    DirectPathBigrams,
    SkipTrigrams,
    Rotated,
    Patching,

    /// <summary>The open claim: a value the method's own body measures.</summary>
    Measured,

    /// <summary>A path term's share or next-token logit.</summary>
    PathTerm,

    /// <summary>A virtual head's share or next-token logit.</summary>
    VirtualHead,

    /// <summary>The fraction of the loss the path terms up to an order recover.</summary>
    TermImportance,
}

/// <summary>Which side of its threshold a measured value must fall for the claim to hold.</summary>
internal enum BoundKind
{
    AtLeast,
    AtMost,
}

/// <summary>An attribute argument as written, for the documentation: its name and its value as text.</summary>
internal sealed record ArgumentText(string Name, string Value);

/// <summary>One valid hypothesis method of a circuit.</summary>
/// <param name="Method">The method name, which names the hypothesis.</param>
/// <param name="Accessibility">The method's accessibility keywords (<c>public</c>, <c>internal</c>, …).</param>
/// <param name="ParameterName">The name of the model parameter, repeated in the implementation.</param>
/// <param name="Kind">Which attribute the claim was written with.</param>
/// <param name="Claim">The XML doc summary: the claim in prose.</param>
/// <param name="Heads">The heads the claim is about: the subject first; for <c>Composes</c>, then <c>From</c>; for <c>VirtualHead</c>, then <c>Through</c>; none for <c>Measured</c>.</param>
/// <param name="Via">The composition kind, for <c>Composes</c>.</param>
/// <param name="Threshold">The bound the measured value is compared with.</param>
/// <param name="Bound">Which side of <paramref name="Threshold"/> supports the claim.</param>
/// <param name="InBaselineUnits">Whether a composition threshold is in units of 1/sqrt(d_model).</param>
/// <param name="Task">The task: for ablation and faithfulness as written, for the planted-structure kinds the model's training task.</param>
/// <param name="Seed">For the planted-structure kinds, the model card's (first) seed, which drew the task's structure for weights whose config names no seed; else 0.</param>
/// <param name="Unit">For <c>Measured</c>, the value's unit as written (or null).</param>
/// <param name="HeadBases">For <c>Rotated</c>, whether the heads' bases are rotated.</param>
/// <param name="Neurons">For <c>Rotated</c>, whether the MLP neurons are rotated.</param>
/// <param name="Paper">The paper section the claim comes from, if given.</param>
/// <param name="OnSeeds">On how many of the model's seeds the claim must hold; 0 for all.</param>
/// <param name="Arguments">The arguments as written, for the documentation.</param>
/// <param name="Term">For <c>PathTerm</c>, the term's name as written (<c>direct</c>, <c>0.3</c>, <c>mlp0</c>, …).</param>
/// <param name="Measure">For <c>PathTerm</c> and <c>VirtualHead</c>, what is measured of the term.</param>
/// <param name="Order">For <c>TermImportance</c>, the largest path order kept.</param>
/// <param name="Patching">For <c>Patching</c>, what is patched where, on which inputs; else null.</param>
/// <param name="Data">For ablation and faithfulness on a tokens file, its path relative to the model's weights folder; else null.</param>
/// <param name="Sequences">For the detector kinds, the claim's detection batch's sequence count; 0 for the default batch's.</param>
/// <param name="SequenceLength">For the detector kinds, the claim's detection batch's sequence length; 0 for the default batch's.</param>
internal sealed record HypothesisSpec(
    string Method,
    string Accessibility,
    string ParameterName,
    HypothesisKind Kind,
    string Claim,
    EquatableArray<HeadId> Heads,
    CompositionKind Via,
    double Threshold,
    BoundKind Bound,
    bool InBaselineUnits,
    string? Task,
    int Seed,
    string? Unit,
    bool HeadBases,
    bool Neurons,
    string? Paper,
    int OnSeeds,
    EquatableArray<ArgumentText> Arguments,
    string? Term = null,
    PathMeasure Measure = PathMeasure.Share,
    int Order = 0,
    PatchingSpec? Patching = null,
    string? Data = null,
    int Sequences = 0,
    int SequenceLength = 0);

/// <summary>A valid <c>[Patching]</c> claim's experiment: the head, if any, is the hypothesis's only head.</summary>
/// <param name="What">The activation patched.</param>
/// <param name="Layer">The block, for the residual stream and the attention and MLP outputs; else the head's layer.</param>
/// <param name="Position">The one position patched, or null for every position.</param>
/// <param name="Clean">The clean input's tokens.</param>
/// <param name="Corrupted">The corrupted input's tokens, as many.</param>
/// <param name="Answer">The answer token.</param>
/// <param name="Wrong">The wrong token.</param>
internal sealed record PatchingSpec(
    PatchedActivation What, int Layer, int? Position, EquatableArray<int> Clean, EquatableArray<int> Corrupted, int Answer, int Wrong);

/// <summary>
/// A hypothesis method whose attribute was rejected with a CDSL error: it gets a body all the same, so the error
/// stands alone rather than beside the compiler's CS8795 (a partial method without an implementation).
/// </summary>
internal sealed record RejectedHypothesis(string Method, string Accessibility, string ParameterName);

/// <summary>A <c>[Circuit]</c> class whose shape allows emission, with its valid hypotheses and its rejected ones.</summary>
internal sealed record CircuitSpec(
    string? Namespace,
    string Name,
    string ModelFullName,
    string ModelName,
    string Summary,
    string? Paper,
    EquatableArray<HypothesisSpec> Hypotheses,
    EquatableArray<RejectedHypothesis> Rejected)
{
    public string FullName => Namespace is null ? "global::" + Name : "global::" + Namespace + "." + Name;
}
