// Mistake: the same faithfulness claim with its heads in another order
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
    [Faithfulness("0.2", "1.3", Task = TaskNames.RepeatedTokens, Recovers = 0.3)]
    public static partial Evidence Faithful(Induction2L model);

    /// <summary>The claim.</summary>
    [/*!CDSL009: Faithfulness*/Faithfulness("1.3", "0.2", Task = TaskNames.RepeatedTokens, Recovers = 0.5)]
    public static partial Evidence AlsoFaithful(Induction2L model);
}
