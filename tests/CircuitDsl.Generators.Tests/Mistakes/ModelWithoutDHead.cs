// Mistake: d_head left out, expecting it to default to d_model / n_heads
using CircuitDsl;

namespace Specs;

[/*!CDSL006: Transformer*/Transformer(Layers = 2, Heads = 4, DModel = 64, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class Induction2L;
