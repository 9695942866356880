// Mistake: a circuit about a model class that lost its [Transformer] attribute
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

[Circuit(/*!CDSL005: Induction2L*/typeof(Induction2L))]
public static partial class InductionCircuit
{
    /// <summary>The claim.</summary>
    [InductionHead("1.3", AtLeast = 0.9)]
    public static partial Evidence Claim(Induction2L model);
}
