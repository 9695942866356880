// Mistake: an attention-only model that forgot AttentionOnly = true, so it has MLPs of no width
using CircuitDsl;

namespace Specs;

[/*!CDSL006: Transformer*/Transformer(Layers = 2, Heads = 4, DModel = 64, DHead = 16, Vocab = 64, Context = 64)]
public sealed partial class Induction2L;
