// Mistake: a model card with learning rate 0 and negative seed
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = /*!CDSL013: -1*/-1, Weights = "weights/induction-2l", LearningRate = /*!CDSL013: 0*/0)]
public sealed partial class Induction2L;
