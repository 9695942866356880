// Mistake: an attention-only model given an MLP width
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 1, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true, DMlp = /*!CDSL006: 256*/256)]
public sealed partial class Toy1L;
