// Mistake: the corrupted prompt pasted from the clean one and never changed
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Toy2L;

[Circuit(typeof(Toy2L))]
public static partial class PatchingClaims
{
    /// <summary>The claim.</summary>
    [Patching(PatchedActivation.HeadPattern, Head = "1.2", Clean = new[] { 5, 9, 12, 5 }, Corrupted = /*!CDSL029: 5, 9, 12, 5*/new[] { 5, 9, 12, 5 }, Answer = 9, Wrong = 13, AtLeast = 0.5)]
    public static partial Evidence Claim(Toy2L model);
}
