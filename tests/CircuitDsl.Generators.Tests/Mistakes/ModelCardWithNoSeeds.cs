// Mistake: a model card whose list of seeds is empty
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seeds = /*!CDSL030: new int[0]*/new int[0], Weights = "weights/induction-2l")]
public sealed partial class Induction2L;
