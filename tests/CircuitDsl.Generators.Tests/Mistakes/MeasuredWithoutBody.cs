// Mistake: a [Measured] claim declared like the built-in kinds, partial and without a body, as if the generator could measure it
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
    [Measured(AtMost = 2.5, Unit = "nats")]
    public static partial double /*!CDSL016: RepeatedTokenLoss*/RepeatedTokenLoss(Induction2L model);
}
