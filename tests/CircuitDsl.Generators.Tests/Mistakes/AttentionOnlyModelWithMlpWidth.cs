// Mistake: an attention-only model given an MLP width
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 1, Heads = 4, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true, DMlp = /*!CDSL006: 256*/256)]
public sealed partial class Toy1L;
