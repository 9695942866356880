// Mistake: a vocabulary size with a stray minus sign
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 1, Heads = 4, DModel = 64, DHead = 16, Vocab = /*!CDSL006: -64*/-64, Context = 64, AttentionOnly = true)]
public sealed partial class Toy1L;
