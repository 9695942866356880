using CircuitDsl;
using CircuitDsl.Reports;

namespace Consumer;

/// <summary>A one-layer attention-only model without LayerNorm.</summary>
[Transformer(NLayers = 1, NHeads = 2, DModel = 16, DHead = 8, DVocab = 8, NCtx = 8,
             AttnOnly = true, NormalizationType = Normalization.None)]
public sealed partial class Toy1L;

/// <summary>Which head of <see cref="Toy1L"/> looks at the previous token.</summary>
[Circuit(typeof(Toy1L))]
public static partial class PreviousToken
{
    /// <summary>Head 0.0 attends to the previous token.</summary>
    [PreviousTokenHead("0.0", AtLeast = 0.9)]
    public static partial Evidence Head0(Toy1L model);
}

/// <summary>A claim the weights refute: head 0.1's weights are zero, so it attends evenly.</summary>
[Circuit(typeof(Toy1L))]
public static partial class IdleHead
{
    /// <summary>Head 0.1 attends to the previous token.</summary>
    [PreviousTokenHead("0.1", AtLeast = 0.9)]
    public static partial Evidence Head1(Toy1L model);
}
