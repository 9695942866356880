// Mistake: hypotheses in a class that lost its [Circuit] attribute
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

public static partial class InductionCircuit
{
    /// <summary>The claim.</summary>
    [/*!CDSL015: InductionHead*/InductionHead("1.3", AtLeast = 0.9)]
    public static partial Evidence /*!CS8795*/Claim(Induction2L model);
}
