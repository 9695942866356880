namespace CircuitDsl.Specs;

/// <summary>
/// The paper's zero-layer transformer: tokens are embedded and immediately unembedded, so the logits are the
/// direct path <c>W_E W_U</c> — a bigram table ("Zero-Layer Transformers"). Trained on a random Markov chain.
/// </summary>
[Transformer(NLayers = 0, DModel = 64, DVocab = 64, NCtx = 64, AttnOnly = true, NormalizationType = Normalization.None)]
[TrainedOn(TaskNames.Bigram, Steps = 1000, Seeds = new[] { 0, 1, 2, 3, 4 }, Weights = "weights/bigram-0l")]
public sealed partial class Bigram0L;

/// <summary>
/// A one-layer attention-only transformer without LayerNorm ("One-Layer Attention-Only Transformers"): the logits are
/// the direct path plus one term per head, each an ensemble of skip-trigrams. Trained on planted skip-trigrams
/// "A … B → C".
/// </summary>
[Transformer(NLayers = 1, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64,
             AttnOnly = true, NormalizationType = Normalization.None)]
[TrainedOn(TaskNames.SkipTrigram, Steps = 1500, Seeds = new[] { 0, 1, 2, 3, 4 }, Weights = "weights/skip-trigram-1l")]
public sealed partial class SkipTrigram1L;

/// <summary>
/// The paper's two-layer attention-only transformer, here with LayerNorm (TransformerLens's default, and the recipe
/// that reliably forms the circuit; see weights/README.md): trained on random tokens with repeats, it forms an
/// induction circuit — a previous-token head in layer 0 whose output the keys of induction heads in layer 1 read.
/// Scores are measured after TransformerLens's weight processing (LayerNorm folded), as every report says.
/// </summary>
[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seeds = new[] { 0, 1, 2, 3, 4 }, Weights = "weights/induction-2l")]
public sealed partial class Induction2L;

/// <summary>
/// The two-layer attention-only model without LayerNorm, trained on random tokens with repeats like
/// <see cref="Induction2L"/>: previous-token heads <c>0.0</c> and <c>0.1</c> share the work, induction heads <c>1.0</c>–<c>1.3</c> copy
/// (weights/README.md). Without LayerNorm it can be a part of an exact composite (docs/mix-and-match.md).
/// </summary>
[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64,
             AttnOnly = true, NormalizationType = Normalization.None)]
[TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seed = 0, Weights = "weights/induction-2l-noln")]
public sealed partial class Induction2LNoLN;

/// <summary>
/// Not trained: the direct sum of <see cref="Bigram0L"/> and <see cref="Induction2LNoLN"/> (<c>circuitdsl compose</c>,
/// docs/mix-and-match.md) — their residual streams side by side (d_model 64 + 64), the bigram table's direct path in
/// one block and the induction circuit in the other, with one mixing weight per parent fitted on Markov text with
/// repeated segments. Its logits are the parents' logits, weighted and summed.
/// </summary>
[Transformer(NLayers = 2, NHeads = 4, DModel = 128, DHead = 16, DVocab = 64, NCtx = 64,
             AttnOnly = true, NormalizationType = Normalization.None)]
[ComposedFrom(typeof(Bigram0L), typeof(Induction2LNoLN), Weights = "weights/bigram-plus-induction")]
public sealed partial class BigramPlusInduction;
