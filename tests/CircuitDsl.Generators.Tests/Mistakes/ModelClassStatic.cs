// Mistake: a model class declared static like a circuit
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public static partial class /*!CDSL007: Induction2L*/Induction2L;
