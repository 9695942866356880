// Mistake: a model card naming the task the way the paper does, "induction"
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 4, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
[TrainedOn(/*!CDSL013: induction*/"induction", Steps = 4000, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;
