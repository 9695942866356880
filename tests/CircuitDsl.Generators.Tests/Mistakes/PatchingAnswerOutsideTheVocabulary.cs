// Mistake: a patching answer given as a token of a larger vocabulary
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Toy2L;

[Circuit(typeof(Toy2L))]
public static partial class PatchingClaims
{
    /// <summary>The claim.</summary>
    [Patching(PatchedActivation.AttnOut, Layer = 1, Clean = new[] { 5, 9, 12, 5 }, Corrupted = new[] { 5, 13, 12, 5 }, Answer = /*!CDSL026: 50257*/50257, Wrong = 13, AtLeast = 0.5)]
    public static partial Evidence Claim(Toy2L model);
}
