// Mistake: a model card naming the task the way the paper does, "induction"
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(/*!CDSL013: induction*/"induction", Steps = 4000, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;
