namespace CircuitDsl;

/// <summary>
/// A claim about a model, put on a <c>static partial Evidence Name(Model model)</c> method of a
/// <see cref="CircuitAttribute"/> class. The method's XML doc summary is the claim in prose.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false, AllowMultiple = false)]
public abstract class HypothesisAttribute : Attribute
{
    /// <summary>The section of the paper this claim comes from, for the documentation.</summary>
    public string? Paper { get; set; }

    /// <summary>
    /// On how many of the model's training seeds (<see cref="TrainedOnAttribute.Seeds"/>) the claim must hold for the
    /// circuit to hold; 0 (the default) for every seed. Write it when a finding is seed-specific, e.g.
    /// <c>OnSeeds = 4</c> of five.
    /// </summary>
    public int OnSeeds { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> attends from each position to the one before it: its previous-token score (mean
/// attention on the previous token, 0…1) is at least <see cref="AtLeast"/>
/// (or, for the claim that it is not, at most <see cref="AtMost"/>).
/// </summary>
public sealed class PreviousTokenHeadAttribute : HypothesisAttribute
{
    /// <summary>The claim is about <paramref name="head"/>, written <c>layer.head</c> (e.g. <c>"0.2"</c>).</summary>
    public PreviousTokenHeadAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The head, <c>layer.head</c>.</summary>
    public string Head { get; }

    /// <summary>The smallest score (0…1) that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest score (0…1) that supports the claim (the head is not one). Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }

    /// <summary>
    /// How many sequences the claim's detection batch has, at least 1; 0 (the default) for as many as the default batch.
    /// The batch is drawn as the default one is (seeded repeated random tokens); each distinct batch is run once.
    /// </summary>
    public int Sequences { get; set; }

    /// <summary>
    /// How many tokens each sequence of the claim's detection batch has: <c>⌈n/2⌉</c> distinct random tokens, then the
    /// first <c>⌊n/2⌋</c> of them again; from 2 to <c>n_ctx − 1</c>, with <c>⌈n/2⌉</c> at most <c>d_vocab</c>. 0 (the
    /// default) for the default batch's length.
    /// </summary>
    public int SequenceLength { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> attends to earlier copies of the current token: its duplicate-token score (0…1) is at
/// least <see cref="AtLeast"/>.
/// </summary>
public sealed class DuplicateTokenHeadAttribute : HypothesisAttribute
{
    /// <summary>The claim is about <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public DuplicateTokenHeadAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The head, <c>layer.head</c>.</summary>
    public string Head { get; }

    /// <summary>The smallest score (0…1) that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest score (0…1) that supports the claim (the head is not one). Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }

    /// <summary>
    /// How many sequences the claim's detection batch has, at least 1; 0 (the default) for as many as the default batch.
    /// The batch is drawn as the default one is (seeded repeated random tokens); each distinct batch is run once.
    /// </summary>
    public int Sequences { get; set; }

    /// <summary>
    /// How many tokens each sequence of the claim's detection batch has: <c>⌈n/2⌉</c> distinct random tokens, then the
    /// first <c>⌊n/2⌋</c> of them again; from 2 to <c>n_ctx − 1</c>, with <c>⌈n/2⌉</c> at most <c>d_vocab</c>. 0 (the
    /// default) for the default batch's length.
    /// </summary>
    public int SequenceLength { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> is an induction head: on repeated sequences it attends to the token after the earlier
/// copy of the current token; its induction score (0…1) is at least <see cref="AtLeast"/>
/// (or, for the claim that it is not, at most <see cref="AtMost"/>).
/// </summary>
public sealed class InductionHeadAttribute : HypothesisAttribute
{
    /// <summary>The claim is about <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public InductionHeadAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The head, <c>layer.head</c>.</summary>
    public string Head { get; }

    /// <summary>The smallest score (0…1) that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest score (0…1) that supports the claim (the head is not one). Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }

    /// <summary>
    /// How many sequences the claim's detection batch has, at least 1; 0 (the default) for as many as the default batch.
    /// The batch is drawn as the default one is (seeded repeated random tokens); each distinct batch is run once.
    /// </summary>
    public int Sequences { get; set; }

    /// <summary>
    /// How many tokens each sequence of the claim's detection batch has: <c>⌈n/2⌉</c> distinct random tokens, then the
    /// first <c>⌊n/2⌋</c> of them again; from 2 to <c>n_ctx − 1</c>, with <c>⌈n/2⌉</c> at most <c>d_vocab</c>. 0 (the
    /// default) for the default batch's length.
    /// </summary>
    public int SequenceLength { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> copies the token it attends to into the logits: the copying score of its full OV
/// circuit, <c>Σλ / Σ|λ|</c> over the eigenvalues of <c>W_E W_OV W_U</c> (−1…1), is at least <see cref="AtLeast"/>
/// (or, for the claim that it is not, at most <see cref="AtMost"/>).
/// </summary>
public sealed class CopyingHeadAttribute : HypothesisAttribute
{
    /// <summary>The claim is about <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public CopyingHeadAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The head, <c>layer.head</c>.</summary>
    public string Head { get; }

    /// <summary>The smallest copying score (−1…1) that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest copying score (−1…1) that supports the claim (the head does not copy). Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> reads, through its <see cref="Via"/> input, what head <see cref="From"/> of an earlier
/// layer wrote: the composition score <c>‖L R‖_F / (‖L‖_F ‖R‖_F)</c> (0…1) is at least <see cref="AtLeast"/>
/// (or, for a claim of independence, at most <see cref="AtMost"/>). Give exactly one of the two.
/// </summary>
public sealed class ComposesAttribute : HypothesisAttribute
{
    /// <summary>The claim is about the later head <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public ComposesAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The later head, whose input reads the earlier head's output.</summary>
    public string Head { get; }

    /// <summary>Which input of <see cref="Head"/> reads: queries, keys or values. Required.</summary>
    public CompositionKind Via { get; set; }

    /// <summary>The earlier head, <c>layer.head</c> in a lower layer than <see cref="Head"/>. Required.</summary>
    public string From { get; set; } = "";

    /// <summary>The smallest score that supports the claim.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest score that supports the claim (the heads do not compose).</summary>
    public double AtMost { get; set; }

    /// <summary>
    /// Whether <see cref="AtLeast"/>/<see cref="AtMost"/> are in units of <c>1/sqrt(d_model)</c>, the score of
    /// random matrices, rather than raw scores; <c>AtLeast = 3, InBaselineUnits = true</c> claims three times chance.
    /// </summary>
    public bool InBaselineUnits { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> matters for <see cref="Task"/>: mean-ablating it raises the mean next-token loss on the
/// task by at least <see cref="RaisesLossBy"/> nats.
/// </summary>
public sealed class AblationAttribute : HypothesisAttribute
{
    /// <summary>The claim is about <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public AblationAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The head, <c>layer.head</c>.</summary>
    public string Head { get; }

    /// <summary>The task the loss is measured on, e.g. <c>"repeated-tokens"</c>. Give this or <see cref="Data"/>.</summary>
    public string Task { get; set; } = "";

    /// <summary>
    /// A tokens file to measure the loss on instead of <see cref="Task"/>: a JSON array of token-id arrays (the command
    /// line's <c>--tokens</c> format), relative to the model's <see cref="TrainedOnAttribute.Weights"/> folder (the folder
    /// holding the <c>seed-S</c> folders, so one file serves every seed), written with <c>/</c>, inside that folder and
    /// ending in <c>.json</c>, e.g. <c>"data/prompts.json"</c>. The mean-ablation means are taken on the same tokens.
    /// Give this or <see cref="Task"/>.
    /// </summary>
    public string? Data { get; set; }

    /// <summary>The smallest loss increase, in nats, that supports the claim; positive. Give this or <see cref="RaisesLossByAtMost"/>.</summary>
    public double RaisesLossBy { get; set; }

    /// <summary>
    /// The largest loss increase, in nats, that supports the claim (the head does not matter much); positive. Give this
    /// or <see cref="RaisesLossBy"/>.
    /// </summary>
    public double RaisesLossByAtMost { get; set; }
}

/// <summary>
/// The heads <see cref="Heads"/> alone do <see cref="Task"/>: with every other head mean-ablated the model keeps
/// at least the fraction <see cref="Recovers"/> (0…1) of its loss improvement over the fully ablated model.
/// </summary>
public sealed class FaithfulnessAttribute : HypothesisAttribute
{
    /// <summary>The circuit is the heads <paramref name="heads"/>, each written <c>layer.head</c>.</summary>
    public FaithfulnessAttribute(params string[] heads)
    {
        Heads = heads;
    }

    /// <summary>The heads of the circuit.</summary>
    public IReadOnlyList<string> Heads { get; }

    /// <summary>The task the loss is measured on, e.g. <c>"repeated-tokens"</c>. Give this or <see cref="Data"/>.</summary>
    public string Task { get; set; } = "";

    /// <summary>
    /// A tokens file to measure the loss on instead of <see cref="Task"/>: a JSON array of token-id arrays (the command
    /// line's <c>--tokens</c> format), relative to the model's <see cref="TrainedOnAttribute.Weights"/> folder (the folder
    /// holding the <c>seed-S</c> folders, so one file serves every seed), written with <c>/</c>, inside that folder and
    /// ending in <c>.json</c>, e.g. <c>"data/prompts.json"</c>. The mean-ablation means are taken on the same tokens.
    /// Give this or <see cref="Task"/>.
    /// </summary>
    public string? Data { get; set; }

    /// <summary>The smallest fraction (0…1) of the loss improvement the circuit must keep. Give this or <see cref="RecoversAtMost"/>.</summary>
    public double Recovers { get; set; }

    /// <summary>The largest fraction (0…1) of the loss improvement the circuit may keep (it is not the circuit). Give this or <see cref="Recovers"/>.</summary>
    public double RecoversAtMost { get; set; }
}

/// <summary>
/// The direct path is the bigram table (the paper's zero-layer model): <c>log_softmax(W_E W_U + b_U)</c>, row by
/// row, reproduces the log-probabilities of the Markov chain the model was trained on. The measure is the Pearson
/// correlation (−1…1) of the two <c>d_vocab × d_vocab</c> tables of log-probabilities, entry by entry; it must be at
/// least <see cref="AtLeast"/>. The chain is the <c>bigram</c> task drawn with the seed of the model's
/// <see cref="TrainedOnAttribute"/>, which must name that task.
/// </summary>
public sealed class DirectPathBigramsAttribute : HypothesisAttribute
{
    /// <summary>The smallest correlation (−1…1) that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest correlation (−1…1) that supports the claim. Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}

/// <summary>
/// Head <see cref="Head"/> of a one-layer model carries the skip-trigrams "A … B → C" its training task planted.
/// A planted triple (anchor A, trigger B, output C) is carried when the head's full QK circuit ranks A among the
/// top keys of B's row (as many keys as there are anchors) and its full OV circuit ranks C among the top outputs of
/// A's row (as many as the task planted distinct outputs for A); the fraction (0…1) of planted triples carried must
/// be at least <see cref="AtLeast"/>. The triples are the <c>skip-trigram</c> task drawn with the seed of the model's
/// <see cref="TrainedOnAttribute"/>, which must name that task.
/// </summary>
public sealed class SkipTrigramsAttribute : HypothesisAttribute
{
    /// <summary>The claim is about <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public SkipTrigramsAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The head, <c>layer.head</c>.</summary>
    public string Head { get; }

    /// <summary>The smallest fraction (0…1) of planted triples the head must rank among its strongest. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest fraction (0…1) of planted triples the head may carry (it does not carry them). Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}

/// <summary>
/// The model is unchanged by a random orthogonal change of basis (docs/mix-and-match.md, "Rotations"): with its
/// residual stream rotated (and every weight that reads or writes it; for a model with LayerNorm, by a rotation that
/// fixes the all-ones direction), or, with <see cref="HeadBases"/>, each head's query/key and value/output bases, or,
/// with <see cref="Neurons"/>, each MLP's hidden basis, its logits on the detection batch move by at most
/// <see cref="AtMost"/> of the largest logit — or, for a claim that the basis is privileged (neurons), by at least
/// <see cref="AtLeast"/>. The rotations are drawn from <see cref="Seed"/>, as <c>circuitdsl rotate</c> draws them.
/// </summary>
public sealed class RotatedAttribute : HypothesisAttribute
{
    /// <summary>Seeds the random rotations (<c>circuitdsl rotate --seed</c>); 0 when not given.</summary>
    public int Seed { get; set; }

    /// <summary>Rotate each head's <c>d_head</c> bases instead of the residual stream (<c>--head-basis</c>).</summary>
    public bool HeadBases { get; set; }

    /// <summary>Rotate each MLP's hidden basis instead of the residual stream (<c>--neurons</c>); the model needs MLPs.</summary>
    public bool Neurons { get; set; }

    /// <summary>The smallest relative logit change (0 or more) that supports the claim (the basis matters). Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest relative logit change (0 or more) that supports the claim (the basis does not matter). Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}

/// <summary>
/// A claim measured by the researcher's own code: put it on a <c>static double Name(Model model)</c> method (or one
/// returning <c>float</c>) of a <see cref="CircuitAttribute"/> class whose body computes the value, e.g. a loss on a
/// batch the researcher chose. <c>CheckAll</c> runs the body and compares its value with <see cref="AtLeast"/> or
/// <see cref="AtMost"/> (give exactly one); an exception it throws, NaN or ∞ make the claim not measured.
/// </summary>
public sealed class MeasuredAttribute : HypothesisAttribute
{
    /// <summary>The smallest value that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest value that supports the claim. Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }

    /// <summary>The value's unit for reports, e.g. <c>"nats"</c>; optional.</summary>
    public string? Unit { get; set; }
}

/// <summary>
/// One term of the model's path expansion (docs/math.md, "Path expansion"), named <see cref="Term"/>: <c>"direct"</c>,
/// a head such as <c>"0.3"</c> (the embeddings through that head), <c>"b0"</c>, <c>"mlp0"</c> or <c>"b_U"</c>. Its
/// <see cref="Measure"/> on the detection batch — its share of the logits (0…1, the default) or its mean contribution
/// to the logit of the actual next token — is at least <see cref="AtLeast"/> (or at most <see cref="AtMost"/>).
/// </summary>
public sealed class PathTermAttribute : HypothesisAttribute
{
    /// <summary>The claim is about the term <paramref name="term"/>: <c>"direct"</c>, <c>"layer.head"</c>, <c>"b{l}"</c>, <c>"mlp{l}"</c> or <c>"b_U"</c>.</summary>
    public PathTermAttribute(string term)
    {
        Term = term;
    }

    /// <summary>The term's name.</summary>
    public string Term { get; }

    /// <summary>What is measured of the term: <see cref="PathMeasure.Share"/> (the default) or <see cref="PathMeasure.NextTokenLogit"/>.</summary>
    public PathMeasure Measure { get; set; }

    /// <summary>The smallest value that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest value that supports the claim. Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}

/// <summary>
/// The virtual head <see cref="Head"/> ∘ <see cref="Through"/> (the paper's "Virtual Attention Heads"): the paths from the
/// embeddings through head <see cref="Through"/> and then, by its values, head <see cref="Head"/> of a later layer. Its
/// <see cref="Measure"/> on the detection batch — its share of the logits (0…1, the default) or its mean contribution to
/// the logit of the actual next token — is at least <see cref="AtLeast"/> (or at most <see cref="AtMost"/>).
/// </summary>
public sealed class VirtualHeadAttribute : HypothesisAttribute
{
    /// <summary>The claim is about the later head <paramref name="head"/>, written <c>layer.head</c>.</summary>
    public VirtualHeadAttribute(string head)
    {
        Head = head;
    }

    /// <summary>The later head, which reads the earlier one's output through its values.</summary>
    public string Head { get; }

    /// <summary>The earlier head, <c>layer.head</c> in a lower layer than <see cref="Head"/>. Required.</summary>
    public string Through { get; set; } = "";

    /// <summary>What is measured of the term: <see cref="PathMeasure.Share"/> (the default) or <see cref="PathMeasure.NextTokenLogit"/>.</summary>
    public PathMeasure Measure { get; set; }

    /// <summary>The smallest value that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest value that supports the claim. Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}

/// <summary>
/// Term importance (the paper's "Term Importance" analysis): the logits built from only the path terms of order at most
/// <see cref="Order"/> (paths through at most that many heads) recover the fraction
/// <c>(L_const − L_order) / (L_const − L_model)</c> of the model's loss, where <c>L_const</c> is the loss of the
/// unembedding's constant alone (no token read); on the detection batch it is at least <see cref="Recovers"/> (or at most
/// <see cref="RecoversAtMost"/>).
/// </summary>
public sealed class TermImportanceAttribute : HypothesisAttribute
{
    /// <summary>The largest order kept, 0 (no head) to the model's layer count. Required.</summary>
    public int Order { get; set; }

    /// <summary>The smallest fraction (0…1) of the loss the terms must recover. Give this or <see cref="RecoversAtMost"/>.</summary>
    public double Recovers { get; set; }

    /// <summary>The largest fraction (0…1) of the loss the terms may recover (the higher orders matter). Give this or <see cref="Recovers"/>.</summary>
    public double RecoversAtMost { get; set; }
}

/// <summary>
/// Activation patching restores the answer: run on the <see cref="Corrupted"/> tokens with one activation — <see cref="What"/>
/// at <see cref="Layer"/> (or of <see cref="Head"/>), at <see cref="Position"/> or at every position — taken from the
/// <see cref="Clean"/> run, the logit difference <c>logit[Answer] − logit[Wrong]</c> at the last position, normalised so
/// that the clean run is 1 and the corrupted run 0, is at least <see cref="AtLeast"/> (or at most <see cref="AtMost"/>).
/// </summary>
public sealed class PatchingAttribute : HypothesisAttribute
{
    /// <summary>The claim patches <paramref name="what"/>.</summary>
    public PatchingAttribute(PatchedActivation what)
    {
        What = what;
    }

    /// <summary>The activation patched.</summary>
    public PatchedActivation What { get; }

    /// <summary>The clean input's token ids (one sequence). Required.</summary>
    public int[] Clean { get; set; } = [];

    /// <summary>The corrupted input's token ids, as many as <see cref="Clean"/>. Required.</summary>
    public int[] Corrupted { get; set; } = [];

    /// <summary>The answer token. Required.</summary>
    public int Answer { get; set; }

    /// <summary>The wrong token the answer is compared with. Required.</summary>
    public int Wrong { get; set; }

    /// <summary>The block, for <c>ResidPre</c>, <c>AttnOut</c> and <c>MlpOut</c>.</summary>
    public int Layer { get; set; }

    /// <summary>The head, <c>layer.head</c>, for <c>HeadOutput</c>, <c>HeadOutputByPosition</c> and <c>HeadPattern</c>.</summary>
    public string Head { get; set; } = "";

    /// <summary>The one position patched (a query position for a pattern); every position when not given.</summary>
    public int Position { get; set; }

    /// <summary>The smallest normalised logit difference that supports the claim. Give this or <see cref="AtMost"/>.</summary>
    public double AtLeast { get; set; }

    /// <summary>The largest normalised logit difference that supports the claim. Give this or <see cref="AtLeast"/>.</summary>
    public double AtMost { get; set; }
}
