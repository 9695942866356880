// Mistake: a [Measured] claim given a range, AtLeast and AtMost
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>The loss on repeated tokens is moderate.</summary>
    [/*!CDSL010: Measured*/Measured(AtLeast = 1, AtMost = 2.5)]
    public static double RepeatedTokenLoss(Induction2L model) => 2.0;
}
