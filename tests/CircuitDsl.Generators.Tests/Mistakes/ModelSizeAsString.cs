// Mistake: a model size written as a string, DModel = "64": the compiler's error, not also "DModel must be positive"
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = /*!CS0029*/"64", DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;
