// Mistake: a data file for a model that has no [TrainedOn], so no weights folder
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>The claim.</summary>
    [Ablation("0.1", Data = /*!CDSL039: data/prompts.json*/"data/prompts.json", RaisesLossBy = 0.5)]
    public static partial Evidence Claim(Induction2L model);
}
