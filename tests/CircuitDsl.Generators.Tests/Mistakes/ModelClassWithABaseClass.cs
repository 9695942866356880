// Mistake: a model class deriving from the researcher's own base class (its generated part derives from TransformerModel)
using CircuitDsl;

namespace Specs;

public abstract class ModelBase;

[Transformer(Layers = 2, Heads = 4, DModel = 64, DHead = 16, Vocab = 64, Context = 64, AttentionOnly = true)]
public sealed partial class /*!CDSL007: Induction2L*/Induction2L : ModelBase;
