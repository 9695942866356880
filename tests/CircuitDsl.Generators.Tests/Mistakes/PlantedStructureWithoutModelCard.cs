// Mistake: skip-trigrams claimed of a model with no [TrainedOn] saying which seed planted them
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 1, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Skip1L;

[Circuit(typeof(Skip1L))]
public static partial class SkipTrigramHeads
{
    /// <summary>The claim.</summary>
    [/*!CDSL014: SkipTrigrams*/SkipTrigrams("0.1", AtLeast = 0.5)]
    public static partial Evidence Claim(Skip1L model);
}
