// Mistake: not a mistake: n_heads * d_head need not equal d_model (TransformerLens allows it), so no diagnostic
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 3, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class Toy2L;
