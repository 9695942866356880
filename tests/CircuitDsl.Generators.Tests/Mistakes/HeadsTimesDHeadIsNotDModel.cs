// Mistake: not a mistake: n_heads * d_head need not equal d_model (TransformerLens allows it), so no diagnostic
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 3, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Toy2L;
