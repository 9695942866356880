// Mistake: a model card that does not say where the weights are
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 4, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
[/*!CDSL013: TrainedOn*/TrainedOn(TaskNames.RepeatedTokens, Steps = 4000)]
public sealed partial class Induction2L;
