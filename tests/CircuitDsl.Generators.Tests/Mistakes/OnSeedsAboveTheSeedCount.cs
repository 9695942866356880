// Mistake: a claim that asks to hold on more seeds than the model was trained on
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seeds = new[] { 0, 1, 2, 3, 4 }, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class Induction
{
    /// <summary>Head 0.2 attends to the previous token on most seeds.</summary>
    [PreviousTokenHead("0.2", AtLeast = 0.8, OnSeeds = /*!CDSL031: 6*/6)]
    public static partial Evidence PreviousToken(Induction2L model);

    /// <summary>Head 1.3 is an induction head on at least no seed at all.</summary>
    [InductionHead("1.3", AtLeast = 0.8, OnSeeds = /*!CDSL031: 0*/0)]
    public static partial Evidence InductionHead(Induction2L model);
}
