// Mistake: a circuit class nested inside the test class that uses it
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;

public partial class InductionTests
{
    [Circuit(typeof(Induction2L))]
    public static partial class /*!CDSL007: InductionCircuit*/InductionCircuit
    {
        /// <summary>The claim.</summary>
        [InductionHead("1.3", AtLeast = 0.9)]
        public static partial Evidence Claim(Induction2L model);
    }
}
