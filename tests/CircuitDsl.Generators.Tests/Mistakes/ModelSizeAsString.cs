// Mistake: a model size written as a string, DModel = "64": the compiler's error, not also "DModel must be positive"
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 4, DModel = /*!CS0029*/"64", DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class Induction2L;
