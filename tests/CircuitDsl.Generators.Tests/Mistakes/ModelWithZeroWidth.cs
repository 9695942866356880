// Mistake: d_model of 0
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 4, DModel = /*!CDSL006: 0*/0, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class Induction2L;
