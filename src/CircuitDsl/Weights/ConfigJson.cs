using System.Text.Json;
using System.Text.Json.Serialization;
using CircuitDsl.Model;

namespace CircuitDsl.Weights;

/// <summary>
/// Reads and writes a model folder's <c>config.json</c> (TransformerLens <c>HookedTransformerConfig</c> names).
/// Fields this project does not use are ignored; nulls where TransformerLens writes them (<c>d_mlp</c>,
/// <c>act_fn</c>, <c>normalization_type</c>, <c>seed</c>) are accepted. The architecture enums are spelled by
/// <see cref="ModelConfig"/>'s converters (<see cref="ConfigNames"/>); a spelling TransformerLens would not write
/// is named with the ones it would.
/// </summary>
internal static class ConfigJson
{
    /// <summary>The largest config file read; TransformerLens's are about 3 KB.</summary>
    internal const long MaxBytes = 1024 * 1024;

    private static readonly string[] Required = ["n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx"];

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
                throw new WeightsFormatException(path, null, "missing: a model folder needs config.json.");
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

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new WeightsFormatException(path, null, $"invalid config: field '{property.Name}' appears twice.");
                }
            }

            if (root.TryGetProperty("model_type", out _))
            {
                huggingFace = true;
                return Gpt2Checkpoint.ReadConfig(root, path);
            }

            foreach (var name in Required)
            {
                if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
                {
                    throw new WeightsFormatException(path, null, $"invalid config: required field '{name}' is missing or null.");
                }
            }

            var config = root.Deserialize(ConfigJsonContext.Default.ModelConfig)!;
            var problems = config.Problems();
            return problems.Count == 0
                ? config
                : throw new WeightsFormatException(path, null, "invalid config: " + string.Join(" ", problems));
        }
        catch (ConfigValueException e)
        {
            throw new WeightsFormatException(path, null, $"invalid config: {e.Path?.TrimStart('$', '.')} {e.Message}", e);
        }
        catch (JsonException e)
        {
            // Parse errors have no path; conversion errors name the field (STJ's own text names the wrong type).
            throw new WeightsFormatException(path, null, e.Path is null
                ? "invalid JSON: " + e.Message
                : $"invalid config: field '{e.Path.TrimStart('$', '.')}' has a value of the wrong type, or null where one is required.", e);
        }
    }

    /// <summary>The config as indented JSON with TransformerLens's snake_case names.</summary>
    public static byte[] Serialize(ModelConfig config) =>
        JsonSerializer.SerializeToUtf8Bytes(config, ConfigJsonContext.Default.ModelConfig);
}

/// <summary>Source-generated (trim- and AOT-safe) JSON for <see cref="ModelConfig"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ModelConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
