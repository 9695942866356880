// Mistake: a 2-layer model whose number of heads was forgotten
using CircuitDsl;

namespace Specs;

[/*!CDSL006: Transformer*/Transformer(Layers = 2, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class Induction2L;
