// Mistake: the same claim pasted twice with a new threshold
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
    [InductionHead("1.3", AtLeast = 0.9)]
    public static partial Evidence Induction(Induction2L model);

    /// <summary>The claim.</summary>
    [/*!CDSL009: InductionHead*/InductionHead("1.3", AtLeast = 0.95)]
    public static partial Evidence StrongInduction(Induction2L model);
}
