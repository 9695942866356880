// Mistake: a path measure cast from an integer that names none
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
    [PathTerm("direct", Measure = /*!CDSL020: (PathMeasure)2*/(PathMeasure)2, AtLeast = 0.3)]
    public static partial Evidence Claim(Induction2L model);
}
