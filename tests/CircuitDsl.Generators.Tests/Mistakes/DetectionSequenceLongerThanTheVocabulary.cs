// Mistake: a detection batch needing more distinct tokens than the vocabulary has
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 16, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/small-vocab")]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>The claim.</summary>
    [PreviousTokenHead("0.1", AtLeast = 0.8, SequenceLength = /*!CDSL040: 40*/40)]
    public static partial Evidence Claim(Induction2L model);
}
