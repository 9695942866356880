// Mistake: a [Measured] claim that gives a unit but no bound, so nothing can hold or fail
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>The loss on repeated tokens is low.</summary>
    [/*!CDSL010: Measured*/Measured(Unit = "nats")]
    public static double RepeatedTokenLoss(Induction2L model) => 2.0;
}
