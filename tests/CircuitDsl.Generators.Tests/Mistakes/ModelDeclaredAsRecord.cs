// Mistake: a model declared as a record
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial record /*!CDSL007: Induction2L*/Induction2L;
