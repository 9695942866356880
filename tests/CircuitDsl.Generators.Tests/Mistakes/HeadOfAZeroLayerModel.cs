// Mistake: an attention head claimed in a model without attention layers
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(Layers = 0, DModel = 64, Vocab = 64, Context = 64, AttentionOnly = true, Normalization = Normalization.None)]
public sealed partial class Bigram0L;

[Circuit(typeof(Bigram0L))]
public static partial class Bigrams
{
    /// <summary>The claim.</summary>
    [PreviousTokenHead(/*!CDSL002: 0.0*/"0.0", AtLeast = 0.8)]
    public static partial Evidence Claim(Bigram0L model);
}
