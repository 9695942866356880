// Mistake: a head named by a role that does not exist, and by a role in a layer the model does not have
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class Induction
{
    /// <summary>Some layer-0 head attends to the previous token.</summary>
    [PreviousTokenHead(/*!CDSL001: 0.prev-token*/"0.prev-token", AtLeast = 0.8)]
    public static partial Evidence PreviousToken(Induction2L model);

    /// <summary>Some layer-2 head is an induction head.</summary>
    [InductionHead(/*!CDSL002: 2.induction*/"2.induction", AtLeast = 0.8)]
    public static partial Evidence InductionHead(Induction2L model);

    /// <summary>The strongest induction head reads the previous-token head.</summary>
    [Composes("1.induction", Via = CompositionKind.K, From = "0.previous-token", AtLeast = 1.5, InBaselineUnits = true)]
    public static partial Evidence KComposition(Induction2L model);
}
