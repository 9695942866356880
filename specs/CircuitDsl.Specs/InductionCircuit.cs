using CircuitDsl.Model;
using CircuitDsl.Reports;

namespace CircuitDsl.Specs;

/// <summary>
/// Induction heads: in "[A][B] … [A] → [B]", a previous-token head in layer 0 (here 0.2) writes into each position
/// which token preceded it; induction heads in layer 1 (here all four, 1.0–1.3; the claims name the strongest, 1.3)
/// match their query, the current token A, against those keys (K-composition), attend to the token after the earlier
/// A, and copy it.
/// </summary>
[Circuit(typeof(Induction2L), Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
public static partial class InductionCircuit
{
    /// <summary>
    /// Head 0.2 is a previous-token head: on repeated random sequences it puts most of its attention on the token
    /// just before the current one. Its output, "the token before me was X", is what the induction heads' keys read.
    /// </summary>
    [PreviousTokenHead("0.2", AtLeast = 0.8, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence PreviousTokenHead(Induction2L model);

    /// <summary>
    /// Head 1.3 is an induction head: on a sequence repeated twice, each token of the second copy attends to the token
    /// that followed its first occurrence ("[A][B] … [A] → attend to [B]").
    /// </summary>
    [InductionHead("1.3", AtLeast = 0.9, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence InductionHead(Induction2L model);

    /// <summary>
    /// The previous-token head is not an induction head: a layer-0 head cannot be one (at a key, nothing earlier has
    /// written which token came before it), and 0.2's induction score stays near zero.
    /// </summary>
    [InductionHead("0.2", AtMost = 0.05, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence PreviousTokenHeadIsNoInductionHead(Induction2L model);

    /// <summary>
    /// The induction head's keys read what the previous-token head wrote: the K-composition score
    /// <c>‖W_OV(0.2) W_QK(1.3)ᵀ‖ / (‖W_OV‖ ‖W_QK‖)</c> is well above that of random matrices, <c>1/sqrt(d_model)</c>. This
    /// is the composition that makes 1.3 attend to "the token after an earlier copy of mine".
    /// </summary>
    [Composes("1.3", Via = CompositionKind.K, From = "0.2", AtLeast = 1.75, InBaselineUnits = true,
              Paper = "Two-Layer Attention-Only Transformers: Term Importance; Induction Heads")]
    public static partial Evidence KComposition(Induction2L model);

    /// <summary>
    /// The induction head's queries do not read the previous-token head: Q-composition stays at about chance. The
    /// query is the current token itself, from the embedding.
    /// </summary>
    [Composes("1.3", Via = CompositionKind.Q, From = "0.2", AtMost = 1.25, InBaselineUnits = true,
              Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence NoQComposition(Induction2L model);

    /// <summary>
    /// The induction head's values do not read the previous-token head: V-composition from 0.2 stays below chance.
    /// What 1.3 moves is the attended token, not "the token before it".
    /// </summary>
    [Composes("1.3", Via = CompositionKind.V, From = "0.2", AtMost = 1, InBaselineUnits = true,
              Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence NoVCompositionFromPreviousTokenHead(Induction2L model);

    /// <summary>
    /// The induction head's values do read a different layer-0 head: V-composition from 0.1 into 1.3 is over three
    /// times chance, so part of what 1.3 copies comes through the virtual head 1.3 ∘ 0.1. (Measured, and stated as
    /// found; mean-ablating 0.1 alone costs little, about 0.1 nats.)
    /// </summary>
    [Composes("1.3", Via = CompositionKind.V, From = "0.1", AtLeast = 3, InBaselineUnits = true,
              Paper = "Two-Layer Attention-Only Transformers: Virtual Attention Heads")]
    public static partial Evidence VCompositionFromAnotherLayerZeroHead(Induction2L model);

    /// <summary>
    /// The induction head copies: its full OV circuit <c>W_E W_OV W_U</c> has (almost) only positive eigenvalues, so
    /// the token it attends to is the token it predicts.
    /// </summary>
    [CopyingHead("1.3", AtLeast = 0.95, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence InductionHeadCopies(Induction2L model);

    /// <summary>
    /// Without the previous-token head, in-context repetition is lost: mean-ablating 0.2 raises the loss on repeated
    /// sequences by well over a nat on average over both halves (the first half cannot be predicted at all).
    /// </summary>
    [Ablation("0.2", Task = TaskNames.RepeatedTokens, RaisesLossBy = 1.5,
              Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence PreviousTokenHeadMatters(Induction2L model);

    /// <summary>
    /// Without the induction head, much of the repetition is lost, although three other induction heads remain:
    /// mean-ablating 1.3 alone raises the loss on repeated sequences by most of a nat.
    /// </summary>
    [Ablation("1.3", Task = TaskNames.RepeatedTokens, RaisesLossBy = 0.75,
              Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence InductionHeadMatters(Induction2L model);

    /// <summary>
    /// The circuit is faithful: keeping only the previous-token head and the four induction heads (every other head
    /// mean-ablated) recovers most of the model's advantage over the fully ablated model on repeated sequences. Keeping
    /// only 0.2 and 1.3 recovers about a third: the induction heads share the work.
    /// </summary>
    [Faithfulness("0.2", "1.0", "1.1", "1.2", "1.3", Task = TaskNames.RepeatedTokens, Recovers = 0.65,
                  Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence Faithful(Induction2L model);

    /// <summary>
    /// Adding head 0.1, whose output the induction heads' values read, recovers more still: the circuit with the
    /// virtual heads through 0.1 explains most of the rest.
    /// </summary>
    [Faithfulness("0.1", "0.2", "1.0", "1.1", "1.2", "1.3", Task = TaskNames.RepeatedTokens, Recovers = 0.8,
                  Paper = "Two-Layer Attention-Only Transformers: Virtual Attention Heads")]
    public static partial Evidence FaithfulWithValueSource(Induction2L model);

    /// <summary>
    /// Term importance, order 0: the logits built from the paths through no head (the direct path, the layers' constants
    /// and the unembedding's) recover at most 0.1 of the loss the model gains over its constant on repeated sequences:
    /// random tokens have no bigram statistics to learn.
    /// </summary>
    [TermImportance(Order = 0, RecoversAtMost = 0.1, Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence DirectPathRecoversNothing(Induction2L model);

    /// <summary>
    /// Term importance, order 1: with attention patterns frozen, the paths through one head — above all the induction
    /// heads' — recover at least 0.95 of the loss; the virtual heads, through two heads, add little. The K-composition that makes
    /// an induction head is in its pattern, not in a path of its own.
    /// </summary>
    [TermImportance(Order = 1, Recovers = 0.95, Paper = "Two-Layer Attention-Only Transformers: Term Importance")]
    public static partial Evidence SingleHeadsRecoverTheLoss(Induction2L model);

    /// <summary>
    /// The induction head's own term, the embeddings through its frozen pattern and OV circuit, raises the logit of the
    /// token that comes next by at least 1.5 on average: it copies the token after the earlier copy.
    /// </summary>
    [PathTerm("1.3", Measure = PathMeasure.NextTokenLogit, AtLeast = 1.5, Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static partial Evidence InductionHeadTermPredicts(Induction2L model);

    /// <summary>
    /// The virtual head that V-composition points to, 1.3 through 0.1, pushes the next token's logit up too, by at least
    /// 0.025 on average ...
    /// </summary>
    [VirtualHead("1.3", Through = "0.1", Measure = PathMeasure.NextTokenLogit, AtLeast = 0.025,
                 Paper = "Two-Layer Attention-Only Transformers: Virtual Attention Heads")]
    public static partial Evidence VirtualHeadThroughValueSourcePredicts(Induction2L model);

    /// <summary>
    /// ... but it is a small part of the logits, at most 0.02 of their squared norm: virtual heads matter little here.
    /// </summary>
    [VirtualHead("1.3", Through = "0.1", AtMost = 0.02, Paper = "Two-Layer Attention-Only Transformers: Virtual Attention Heads")]
    public static partial Evidence VirtualHeadThroughValueSourceIsSmall(Induction2L model);

    /// <summary>
    /// The residual stream has no privileged basis: rotated by a random orthogonal map (and every weight that reads or
    /// writes it), the trained model's logits on the detection batch move by less than a ten-thousandth of the largest
    /// logit — float rounding. The circuit above is a property of the model, not of the coordinates its weights are
    /// written in (docs/mix-and-match.md, "Rotations").
    /// </summary>
    [Rotated(Seed = 1, AtMost = 1e-4, Paper = "Transformer Overview: Residual Stream")]
    public static partial Evidence RotationChangesNothing(Induction2L model);

    /// <summary>
    /// The model does in-context repetition: on a batch of its own (random sequences, each repeated once, drawn here with
    /// a seed of this claim's), its mean next-token loss on the second copy, from its second token on, is at most a
    /// quarter of a nat, where a uniform guess loses ln(d_vocab). The first token of the second copy follows no earlier
    /// copy, so it is left out.
    /// </summary>
    [Measured(AtMost = 0.25, Unit = "nats", Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
    public static double SecondCopyLoss(Induction2L model)
    {
        const int half = 31;
        var random = new Random(2024);
        var tokens = new int[8][];
        for (var b = 0; b < tokens.Length; b++)
        {
            var first = Enumerable.Range(0, half).Select(_ => random.Next(Induction2L.DVocab)).ToArray();
            tokens[b] = [.. first, .. first];
        }

        var losses = Losses.PerTokenCrossEntropy(model.Forward(tokens), tokens);
        double sum = 0;
        var count = 0;
        for (var b = 0; b < tokens.Length; b++)
        {
            // Position p predicts token p + 1; the second copy's tokens after its first are half + 1 … 2·half − 1.
            for (var p = half; p < (2 * half) - 1; p++)
            {
                sum += losses[b, p];
                count++;
            }
        }

        return sum / count;
    }
}
