// Mistake: a model card that does not say where the weights are
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[/*!CDSL013: TrainedOn*/TrainedOn(TaskNames.RepeatedTokens, Steps = 4000)]
public sealed partial class Induction2L;
