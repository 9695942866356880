using CircuitDsl.Reports;

namespace CircuitDsl.Specs;

/// <summary>
/// Activation patching on the induction model. The clean prompt repeats "7 21 40 3 11 33": after the second "11" the
/// model predicts "33". The corrupted prompt changes the first "11" to "50", so nothing earlier says what follows "11".
/// Patching activations of the clean run into the corrupted one shows where the information that "33" followed "11"
/// travels: it is written at position 5 (the first "33") by the previous-token head.
/// </summary>
[Circuit(typeof(Induction2L), Paper = "Two-Layer Attention-Only Transformers: Induction Heads")]
public static partial class InductionPatching
{
    /// <summary>
    /// Restoring the residual stream entering layer 1 at position 5 alone restores most of the answer: what follows
    /// "11" is stored at the token after the first "11".
    /// </summary>
    [Patching(PatchedActivation.ResidPre, Layer = 1, Position = 5, Clean = new[] { 7, 21, 40, 3, 11, 33, 7, 21, 40, 3, 11 },
              Corrupted = new[] { 7, 21, 40, 3, 50, 33, 7, 21, 40, 3, 11 }, Answer = 33, Wrong = 50, AtLeast = 0.8)]
    public static partial Evidence StoredAfterTheFirstCopy(Induction2L model);

    /// <summary>
    /// Layer 0's previous-token head (a role: which head it is differs by seed) carries it there: patching its output
    /// restores at least 0.4 of the answer.
    /// </summary>
    [Patching(PatchedActivation.HeadOutput, Head = "0.previous-token", Clean = new[] { 7, 21, 40, 3, 11, 33, 7, 21, 40, 3, 11 },
              Corrupted = new[] { 7, 21, 40, 3, 50, 33, 7, 21, 40, 3, 11 }, Answer = 33, Wrong = 50, AtLeast = 0.4)]
    public static partial Evidence PreviousTokenHeadCarriesIt(Induction2L model);

    /// <summary>Head 0.0 carries none of it, on the seeds the claim names (OnSeeds): a seed-specific finding.</summary>
    [Patching(PatchedActivation.HeadOutput, Head = "0.0", Clean = new[] { 7, 21, 40, 3, 11, 33, 7, 21, 40, 3, 11 },
              Corrupted = new[] { 7, 21, 40, 3, 50, 33, 7, 21, 40, 3, 11 }, Answer = 33, Wrong = 50, AtMost = 0.05, OnSeeds = 4)]
    public static partial Evidence HeadZeroZeroDoesNot(Induction2L model);
}
