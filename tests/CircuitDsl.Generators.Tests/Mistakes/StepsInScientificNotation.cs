// Mistake: training steps written as 4e3, a double: the compiler's error, not also "Steps must be positive"
using CircuitDsl;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = /*!CS0266*/4e3, BatchSize = /*!CS0266*/16.0, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;
