// Mistake: a model class made generic over its number type
using CircuitDsl;

namespace Specs;

[Transformer(Layers = 2, Heads = 4, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class /*!CDSL007: Induction2L*/Induction2L<T>;
