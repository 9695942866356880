// Mistake: a residual-stream patch given a head instead of a layer
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Toy2L;

[Circuit(typeof(Toy2L))]
public static partial class PatchingClaims
{
    /// <summary>The claim.</summary>
    [Patching(PatchedActivation.ResidPre, Head = /*!CDSL027: "1.2"*/"1.2", Clean = new[] { 5, 9, 12, 5 }, Corrupted = new[] { 5, 13, 12, 5 }, Answer = 9, Wrong = 13, AtLeast = 0.5)]
    public static partial Evidence Claim(Toy2L model);
}
