using System.Text.Json;
using System.Text.Json.Serialization;
using CircuitDsl.Model;

namespace CircuitDsl.Weights;

/// <summary>
/// Reads and writes a model folder's <c>config.json</c> (TransformerLens <c>HookedTransformerConfig</c> names).
/// Fields this project does not use are ignored, except one within two edits of a field TransformerLens's config has
/// (a typo: named, with the field meant); nulls where TransformerLens writes them (<c>d_mlp</c>, <c>act_fn</c>,
/// <c>normalization_type</c>, <c>seed</c>) are accepted, and a missing <c>normalization_type</c> is <c>LN</c>, as in
/// TransformerLens. The architecture enums are spelled through <see cref="ConfigNames"/> both ways (read here, written
/// by <see cref="ModelConfig"/>'s converters); a spelling TransformerLens would not write is named with the ones it would.
/// </summary>
internal static class ConfigJson
{
    /// <summary>The largest config file read; TransformerLens's are about 3 KB.</summary>
    internal const long MaxBytes = 1024 * 1024;

    private static readonly string[] Required = ["n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx"];

    /// <summary>The fields of TransformerLens's <c>HookedTransformerConfig</c>: the ones read here, then the others.</summary>
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx", "d_mlp", "attn_only", "act_fn",
        "normalization_type", "positional_embedding_type", "seed",
        "model_name", "eps", "use_attn_result", "use_attn_scale", "attn_scale", "use_split_qkv_input", "use_hook_mlp_in",
        "use_attn_in", "use_local_attn", "use_qk_norm", "ungroup_grouped_query_attention", "original_architecture",
        "from_checkpoint", "checkpoint_index", "checkpoint_label_type", "checkpoint_value", "tokenizer_name", "window_size",
        "attn_types", "init_mode", "n_devices", "attention_dir", "initializer_range", "init_weights",
        "scale_attn_by_inverse_layer_idx", "final_rms", "d_vocab_out", "parallel_attn_mlp", "rotary_dim", "n_params",
        "use_hook_tokens", "gated_mlp", "default_prepend_bos", "dtype", "tokenizer_prepends_bos", "n_key_value_heads",
        "post_embedding_ln", "rotary_base", "rotary_base_local", "rotary_scaling_factor", "trust_remote_code",
        "rotary_adjacent_pairs", "load_in_4bit", "num_experts", "experts_per_token", "relative_attention_max_distance",
        "relative_attention_num_buckets", "decoder_start_token_id", "tie_word_embeddings", "use_normalization_before_and_after",
        "attn_scores_soft_cap", "output_logits_soft_cap", "device", "uses_rms_norm", "layer_norm_folding", "init_range",
    };

    /// <summary>Reads and validates the config at <paramref name="path"/>.</summary>
    /// <exception cref="WeightsFormatException">The file is missing, unreadable, not JSON, or not a valid config.</exception>
    public static ModelConfig Read(string path) => Read(path, out _);

    /// <summary>
    /// Reads and validates the config at <paramref name="path"/>: a TransformerLens config, or a Hugging Face GPT-2 one
    /// (it has <c>model_type</c>; <paramref name="huggingFace"/> says so), converted by <see cref="Gpt2Checkpoint.ReadConfig"/>.
    /// </summary>
    /// <exception cref="WeightsFormatException">The file is missing, unreadable, not JSON, or not a valid config.</exception>
    public static ModelConfig Read(string path, out bool huggingFace)
    {
        huggingFace = false;
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new WeightsFormatException(path, null, "missing: a model folder needs config.json." + ModelsBelow(Path.GetDirectoryName(path)));
            }

            if (info.Length > MaxBytes)
            {
                throw new WeightsFormatException(path, null, $"{info.Length} bytes is too large for a config (limit {MaxBytes}).");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFormatException(path, null, "cannot read the file: " + e.Message, e);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new WeightsFormatException(path, null, $"must hold a JSON object, not {root.ValueKind}.");
            }

            // Hugging Face configs have fields of their own (n_head, n_layer), which are no TransformerLens typos.
            huggingFace = root.TryGetProperty("model_type", out _);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new WeightsFormatException(path, null, $"invalid config: field '{property.Name}' appears twice.");
                }

                if (!huggingFace && NearMiss(property.Name) is { } meant)
                {
                    throw new WeightsFormatException(path, null, $"`{property.Name}`: unknown field; did you mean `{meant}`?");
                }
            }

            if (huggingFace)
            {
                return Gpt2Checkpoint.ReadConfig(root, path);
            }

            foreach (var name in Required)
            {
                if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
                {
                    throw new WeightsFormatException(path, null, $"invalid config: required field '{name}' is missing or null.");
                }
            }

            var config = FromFields(root, path);
            var problems = config.Problems();
            return problems.Count == 0
                ? config
                : throw new WeightsFormatException(path, null, "invalid config: " + string.Join(" ", problems));
        }
        catch (JsonException e)
        {
            throw new WeightsFormatException(path, null, "invalid JSON: " + e.Message, e);
        }
    }

    /// <summary>
    /// The config from the fields of <paramref name="root"/>, read by hand rather than by the serializer, whose
    /// converters for these types are compiled at run time: about 75 ms of every command's start. Absent and null
    /// fields take <see cref="ModelConfig"/>'s defaults, except that an absent <c>normalization_type</c> is <c>LN</c>
    /// (TransformerLens's default; only an explicit null means no LayerNorm); a value of the wrong JSON type, or null
    /// where the field cannot be (<c>attn_only</c>, <c>positional_embedding_type</c>), is refused naming the field.
    /// </summary>
    private static ModelConfig FromFields(JsonElement root, string path)
    {
        return new ModelConfig
        {
            NLayers = Int("n_layers") ?? throw WrongType("n_layers"),
            NHeads = Int("n_heads") ?? throw WrongType("n_heads"),
            DModel = Int("d_model") ?? throw WrongType("d_model"),
            DHead = Int("d_head") ?? throw WrongType("d_head"),
            DVocab = Int("d_vocab") ?? throw WrongType("d_vocab"),
            NCtx = Int("n_ctx") ?? throw WrongType("n_ctx"),
            DMlp = Int("d_mlp"),
            AttnOnly = root.TryGetProperty("attn_only", out var attnOnly) && attnOnly.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw WrongType("attn_only"),
            },
            ActFn = Text("act_fn") is { } act ? Spelled<ActivationFunction>("act_fn", act, ConfigNames.TryParse) : null,
            NormalizationType = !root.TryGetProperty("normalization_type", out _) ? Normalization.LN
                : Spelled<Normalization>("normalization_type", Text("normalization_type"), ConfigNames.TryParse),
            PositionalEmbeddingType = !root.TryGetProperty("positional_embedding_type", out _) ? PositionalEmbedding.Standard
                : Spelled<PositionalEmbedding>("positional_embedding_type",
                    Text("positional_embedding_type") ?? throw WrongType("positional_embedding_type"), ConfigNames.TryParse),
            Seed = Int("seed"),
            TokenizerName = Text("tokenizer_name"),
        };

        JsonElement? Value(string name) => root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        int? Int(string name) => Value(name) is not { } value ? null
            : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : throw WrongType(name);

        string? Text(string name) => Value(name) is not { } value ? null
            : value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongType(name);

        T Spelled<T>(string name, string? text, Parser<T> parse)
            where T : struct, Enum =>
            parse(text, out var value) ? value : throw new WeightsFormatException(path, null, $"invalid config: {name} {ConfigValueJson.MustBe<T>(text)}");

        WeightsFormatException WrongType(string name) =>
            new(path, null, $"invalid config: field '{name}' has a value of the wrong type, or null where one is required.");
    }

    /// <summary>One of <see cref="ConfigNames"/>' <c>TryParse</c> overloads.</summary>
    private delegate bool Parser<T>(string? text, out T value);

    /// <summary>
    /// The field <paramref name="name"/> was probably meant to be, when it is not one TransformerLens's config has but
    /// is within two edits of one; null otherwise (a field TransformerLens has, or one too unlike any to be a typo, is
    /// ignored like every field this project does not use).
    /// </summary>
    internal static string? NearMiss(string name)
    {
        if (Known.Contains(name))
        {
            return null;
        }

        var (best, distance) = Known.Select(known => (known, EditDistance(name, known))).MinBy(p => p.Item2);
        return name.Length > 3 && distance <= 2 ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>
    /// When <paramref name="dir"/> holds model folders rather than being one (the seeds of a model, <c>seed-0</c> …),
    /// a sentence naming them; empty otherwise.
    /// </summary>
    private static string ModelsBelow(string? dir)
    {
        if (dir is null || !Directory.Exists(dir))
        {
            return "";
        }

        var models = Directory.EnumerateDirectories(dir).Where(d => File.Exists(Path.Combine(d, "config.json")))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        return models.Count == 0 ? "" : $" It holds model folders: {string.Join(", ", models)}; give one of them.";
    }

    /// <summary>The config as indented JSON with TransformerLens's snake_case names.</summary>
    public static byte[] Serialize(ModelConfig config) =>
        JsonSerializer.SerializeToUtf8Bytes(config, ConfigJsonContext.Default.ModelConfig);
}

/// <summary>Source-generated (trim- and AOT-safe) JSON for <see cref="ModelConfig"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ModelConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
