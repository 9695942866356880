// Mistake: a size's name misspelled, DModle: the compiler's error, not also "DModel must be given"
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, /*!CS0246*/DModle = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;
