// Mistake: a model card that gives both the one Seed and the list of Seeds
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Seeds = /*!CDSL030: new[] { 0, 1, 2, 3, 4 }*/new[] { 0, 1, 2, 3, 4 }, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;
