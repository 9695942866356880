// Mistake: an upper bound written as a percentage: not an induction head means a score of at most 5, meaning 5%
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>Head 0.1 is not an induction head.</summary>
    [InductionHead("0.1", AtMost = /*!CDSL004: 5*/5)]
    public static partial Evidence NotInduction(Induction2L model);
}
