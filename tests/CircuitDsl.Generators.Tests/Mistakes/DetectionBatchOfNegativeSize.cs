// Mistake: a detection batch with a negative number of sequences
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
    [DuplicateTokenHead("0.1", AtLeast = 0.8, Sequences = /*!CDSL040: -4*/-4)]
    public static partial Evidence Claim(Induction2L model);
}
