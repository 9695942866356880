// Mistake: d_model of 0
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = /*!CDSL006: 0*/0, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;
