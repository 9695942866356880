namespace CircuitDsl;

/// <summary>
/// Declares a partial class as a transformer of a fixed architecture. The source generator derives the class from the
/// runtime's <c>CircuitDsl.Facade.TransformerModel</c> (so declare it without a base class), implements <c>ITransformerModel&lt;TSelf&gt;</c>,
/// and gives it its dimensions as constants, <c>Load(directory)</c> (which checks the model folder against this
/// declaration), typed weights (<c>model.L1.H4.W_QK</c>), a typed activation cache, and the path-expansion
/// terms on given tokens (<c>model.Paths(tokens).L1H1_L0H2</c>).
/// </summary>
/// <example>
/// <code>
/// [Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64,
///              AttnOnly = true, NormalizationType = Normalization.None)]
/// public sealed partial class Toy2L;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class TransformerAttribute : Attribute
{
    /// <summary>Number of transformer blocks (<c>n_layers</c>); 0 gives the bigram model <c>W_E W_U</c>.</summary>
    public int NLayers { get; set; }

    /// <summary>Attention heads per layer (<c>n_heads</c>).</summary>
    public int NHeads { get; set; }

    /// <summary>Width of the residual stream (<c>d_model</c>).</summary>
    public int DModel { get; set; }

    /// <summary>Width of each head's queries, keys and values (<c>d_head</c>).</summary>
    public int DHead { get; set; }

    /// <summary>Vocabulary size (<c>d_vocab</c>).</summary>
    public int DVocab { get; set; }

    /// <summary>Context length, the number of learned positions (<c>n_ctx</c>).</summary>
    public int NCtx { get; set; }

    /// <summary>MLP hidden width (<c>d_mlp</c>); required unless <see cref="AttnOnly"/>, and not allowed with it.</summary>
    public int DMlp { get; set; }

    /// <summary>Whether the blocks have attention only, no MLPs (<c>attn_only</c>).</summary>
    public bool AttnOnly { get; set; }

    /// <summary>Where the model normalises (<c>normalization_type</c>); TransformerLens's default, <see cref="Normalization.LN"/>, when omitted.</summary>
    public Normalization NormalizationType { get; set; } = Normalization.LN;

    /// <summary>How positions enter the model (<c>positional_embedding_type</c>); <see cref="PositionalEmbedding.Standard"/> when omitted.</summary>
    public PositionalEmbedding PositionalEmbeddingType { get; set; } = PositionalEmbedding.Standard;

    /// <summary>The MLP nonlinearity (<c>act_fn</c>); <see cref="ActivationFunction.Gelu"/> when omitted. Ignored by attention-only models.</summary>
    public ActivationFunction ActFn { get; set; } = ActivationFunction.Gelu;
}
