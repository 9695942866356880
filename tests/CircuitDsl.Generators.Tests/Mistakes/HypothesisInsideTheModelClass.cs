// Mistake: hypotheses written inside the model class, which is no [Circuit]
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L
{
    /// <summary>Head 0.2 attends to the previous token.</summary>
    [/*!CDSL015: PreviousTokenHead*/PreviousTokenHead("0.2", AtLeast = 0.8)]
    public static partial Evidence /*!CS8795*/PreviousToken(Induction2L model);
}
