using System.Globalization;
using System.Text.Json.Serialization;

namespace CircuitDsl.Model;

/// <summary>
/// The architecture of a transformer, with TransformerLens's <c>HookedTransformerConfig</c> field names so a
/// model folder's <c>config.json</c> reads the same in Python and here.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Number of transformer blocks (0 gives the bigram model <c>W_E W_U</c>).</summary>
    [JsonPropertyName("n_layers")] public int NLayers { get; init; }

    /// <summary>Attention heads per layer.</summary>
    [JsonPropertyName("n_heads")] public int NHeads { get; init; }

    /// <summary>Width of the residual stream.</summary>
    [JsonPropertyName("d_model")] public int DModel { get; init; }

    /// <summary>Width of each head's query, key and value.</summary>
    [JsonPropertyName("d_head")] public int DHead { get; init; }

    /// <summary>Vocabulary size.</summary>
    [JsonPropertyName("d_vocab")] public int DVocab { get; init; }

    /// <summary>Context length: the number of learned positions.</summary>
    [JsonPropertyName("n_ctx")] public int NCtx { get; init; }

    /// <summary>MLP hidden width; ignored (and conventionally null) when <see cref="AttnOnly"/>.</summary>
    [JsonPropertyName("d_mlp")] public int? DMlp { get; init; }

    /// <summary>Whether blocks have attention only (no MLPs).</summary>
    [JsonPropertyName("attn_only")] public bool AttnOnly { get; init; }

    /// <summary>MLP activation (<c>act_fn</c>); null (as TransformerLens writes it) when <see cref="AttnOnly"/>.</summary>
    [JsonPropertyName("act_fn"), JsonConverter(typeof(ActivationFunctionJsonConverter))]
    public ActivationFunction? ActFn { get; init; }

    /// <summary>
    /// Where the model normalises (<c>normalization_type</c>: <c>LN</c>, <c>LNPre</c>, or null for
    /// <see cref="Normalization.None"/>, also when the field is absent).
    /// </summary>
    [JsonPropertyName("normalization_type"), JsonConverter(typeof(NormalizationJsonConverter))]
    public Normalization NormalizationType { get; init; } = Normalization.None;

    /// <summary>How positions enter the model (<c>positional_embedding_type</c>); <see cref="PositionalEmbedding.Standard"/> when absent.</summary>
    [JsonPropertyName("positional_embedding_type"), JsonConverter(typeof(PositionalEmbeddingJsonConverter))]
    public PositionalEmbedding PositionalEmbeddingType { get; init; }

    /// <summary>The seed the weights were initialised or trained with, if known.</summary>
    [JsonPropertyName("seed")] public int? Seed { get; init; }

    /// <summary>
    /// The built-in tokenizer the model reads text with (<c>tokenizer_name</c>, e.g. <c>gpt2</c>), or null when it names
    /// none (its folder may carry tokenizer files instead). Not written when null.
    /// </summary>
    [JsonPropertyName("tokenizer_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TokenizerName { get; init; }

    /// <summary>Whether positions feed only queries and keys.</summary>
    [JsonIgnore] public bool IsShortformer => PositionalEmbeddingType == PositionalEmbedding.Shortformer;

    /// <summary>Whether the model has learned LayerNorm weights (<c>LN</c>).</summary>
    [JsonIgnore] public bool HasLayerNormWeights => NormalizationType == Normalization.LN;

    /// <summary>Whether the model normalises before each block and the unembed (<c>LN</c> or <c>LNPre</c>).</summary>
    [JsonIgnore] public bool HasLayerNorm => NormalizationType is Normalization.LN or Normalization.LNPre;

    /// <summary>Whether blocks have MLPs.</summary>
    [JsonIgnore] public bool HasMlp => !AttnOnly;

    /// <summary>
    /// How this config differs from <paramref name="declared"/>, the architecture the spec class
    /// <paramref name="modelName"/> declares with <c>[Transformer]</c>, field by field; null when it matches. Only the
    /// fields the declared architecture uses are compared (no head sizes for 0 layers, no MLP for attention only).
    /// </summary>
    public string? DescribeMismatch(ModelConfig declared, string modelName)
    {
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(modelName);
        var differences = new List<string>();
        void Compare<T>(string field, T actual, T expected)
        {
            if (!EqualityComparer<T>.Default.Equals(actual, expected))
            {
                differences.Add($"{field} is {Show(actual)} but {modelName} declares {Show(expected)}");
            }
        }

        Compare("n_layers", NLayers, declared.NLayers);
        if (declared.NLayers > 0)
        {
            Compare("n_heads", NHeads, declared.NHeads);
        }

        Compare("d_model", DModel, declared.DModel);
        if (declared.NLayers > 0)
        {
            Compare("d_head", DHead, declared.DHead);
        }

        Compare("d_vocab", DVocab, declared.DVocab);
        Compare("n_ctx", NCtx, declared.NCtx);
        if (declared.NLayers > 0)
        {
            Compare("attn_only", AttnOnly, declared.AttnOnly);
        }

        if (declared.NLayers > 0 && declared.HasMlp)
        {
            Compare("d_mlp", DMlp, declared.DMlp);
            Compare("act_fn", ActFn, declared.ActFn);
        }

        Compare("normalization_type", NormalizationType, declared.NormalizationType);
        Compare("positional_embedding_type", PositionalEmbeddingType, declared.PositionalEmbeddingType);
        return differences.Count == 0
            ? null
            : $"the config does not match [Transformer] on {modelName}: {string.Join("; ", differences)}. "
              + $"To load this folder, declare {ToTransformerAttribute()}.";
    }

    /// <summary>
    /// The C# <c>[Transformer(...)]</c> attribute that declares this architecture, naming only what differs from
    /// the attribute's defaults (LN, standard positions, <c>gelu</c>, MLPs).
    /// </summary>
    public string ToTransformerAttribute()
    {
        var arguments = new List<string>
        {
            $"NLayers = {NLayers}", $"NHeads = {NHeads}", $"DModel = {DModel}", $"DHead = {DHead}", $"DVocab = {DVocab}", $"NCtx = {NCtx}",
        };
        if (AttnOnly)
        {
            arguments.Add("AttnOnly = true");
        }
        else
        {
            arguments.Add($"DMlp = {DMlp}");
            if (ActFn is { } act && act != ActivationFunction.Gelu)
            {
                arguments.Add($"ActFn = ActivationFunction.{act}");
            }
        }

        if (NormalizationType != Normalization.LN)
        {
            arguments.Add($"NormalizationType = Normalization.{NormalizationType}");
        }

        if (PositionalEmbeddingType != PositionalEmbedding.Standard)
        {
            arguments.Add($"PositionalEmbeddingType = PositionalEmbedding.{PositionalEmbeddingType}");
        }

        return $"[Transformer({string.Join(", ", arguments)})]";
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => '"' + s + '"',
        Normalization n => Show(n.ToConfigValue()),
        PositionalEmbedding p => Show(p.ToConfigValue()),
        ActivationFunction f => Show(f.ToConfigValue()),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>
    /// Every reason this configuration cannot describe a model, as sentences; empty when it is valid.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Positive(string name, int value)
        {
            if (value <= 0)
            {
                problems.Add($"{name} must be positive (got {value}).");
            }
        }

        if (NLayers < 0)
        {
            problems.Add($"n_layers must not be negative (got {NLayers}).");
        }

        Positive("d_model", DModel);
        Positive("d_vocab", DVocab);
        Positive("n_ctx", NCtx);
        if (NLayers > 0)
        {
            Positive("n_heads", NHeads);
            Positive("d_head", DHead);
            if (!AttnOnly)
            {
                if (DMlp is not > 0)
                {
                    problems.Add($"d_mlp must be positive when attn_only is false (got {DMlp?.ToString() ?? "null"}).");
                }

                if (ActFn is not { } actFn || !Enum.IsDefined(actFn))
                {
                    problems.Add($"act_fn {ConfigValueJson.MustBe<ActivationFunction>(ActFn?.ToString())}");
                }
            }
        }

        if (!Enum.IsDefined(NormalizationType))
        {
            problems.Add($"normalization_type {ConfigValueJson.MustBe<Normalization>(NormalizationType.ToString())}");
        }

        if (!Enum.IsDefined(PositionalEmbeddingType))
        {
            problems.Add($"positional_embedding_type {ConfigValueJson.MustBe<PositionalEmbedding>(PositionalEmbeddingType.ToString())}");
        }

        return problems;
    }
}
