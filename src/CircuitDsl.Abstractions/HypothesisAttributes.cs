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

    /// <summary>The task the loss is measured on, e.g. <c>"repeated-tokens"</c>. Required.</summary>
    public string Task { get; set; } = "";

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

    /// <summary>The task the loss is measured on, e.g. <c>"repeated-tokens"</c>. Required.</summary>
    public string Task { get; set; } = "";

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
