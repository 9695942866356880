// Mistake: an ablation whose data file is left empty
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>The claim.</summary>
    [Ablation("0.1", Data = /*!CDSL037: ""*/"", RaisesLossBy = 0.5)]
    public static partial Evidence Claim(Induction2L model);
}
