// Mistake: an attention head claimed in a model without attention layers
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 0, DModel = 64, DVocab = 64, NCtx = 64, AttnOnly = true, NormalizationType = Normalization.None)]
public sealed partial class Bigram0L;

[Circuit(typeof(Bigram0L))]
public static partial class Bigrams
{
    /// <summary>The claim.</summary>
    [PreviousTokenHead(/*!CDSL002: 0.0*/"0.0", AtLeast = 0.8)]
    public static partial Evidence Claim(Bigram0L model);
}
