// Mistake: a size's name misspelled, DModle: the compiler's error, not also "DModel must be given"
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 4, /*!CS0246*/DModle = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class Induction2L;
