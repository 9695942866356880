// Mistake: an attention-only model that forgot AttnOnly = true, so it has MLPs of no width
using CircuitDsl;

namespace Specs;

[/*!CDSL006: Transformer*/Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64)]
public sealed partial class Induction2L;
