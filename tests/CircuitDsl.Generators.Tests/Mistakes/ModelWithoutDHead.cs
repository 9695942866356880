// Mistake: d_head left out, expecting it to default to d_model / n_heads
using CircuitDsl;

namespace Specs;

[/*!CDSL006: Transformer*/Transformer(NLayers = 2, NHeads = 4, DModel = 64, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;
