// Mistake: a vocabulary size with a stray minus sign
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 1, NHeads = 4, DModel = 64, DHead = 16, DVocab = /*!CDSL006: -64*/-64, NCtx = 64, AttnOnly = true)]
public sealed partial class Toy1L;
