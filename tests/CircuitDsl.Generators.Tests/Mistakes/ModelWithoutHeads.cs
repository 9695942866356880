// Mistake: a 2-layer model whose number of heads was forgotten
using CircuitDsl;

namespace Specs;

[/*!CDSL006: Transformer*/Transformer(NLayers = 2, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;
