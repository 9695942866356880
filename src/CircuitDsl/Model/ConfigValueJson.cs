using System.Text.Json;
using System.Text.Json.Serialization;

namespace CircuitDsl.Model;

/// <summary>
/// The JSON form of <see cref="ModelConfig"/>'s architecture enums: TransformerLens's spellings, read and written
/// through <see cref="ConfigNames"/> (the CLI's flags parse through it too). A string that is not one of them, or a value
/// of another JSON type, throws <see cref="JsonException"/> (the message says what the field must be for the former).
/// </summary>
internal static class ConfigValueJson
{
    /// <summary>The string at the reader, or null for JSON null.</summary>
    public static string? ReadString(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        _ => throw new JsonException(),
    };

    /// <summary>What a field of type <typeparamref name="T"/> must be and what it was: <c>must be LN, LNPre or null (got RMS).</c></summary>
    public static string MustBe<T>(string? got)
        where T : struct, Enum => $"must be {ConfigNames.Choices<T>()} (got {got ?? "null"}).";

    /// <summary>Writes <paramref name="value"/>, or JSON null.</summary>
    public static void Write(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}

/// <summary><c>normalization_type</c>: <c>"LN"</c>, <c>"LNPre"</c>, or null for <see cref="Normalization.None"/>.</summary>
internal sealed class NormalizationJsonConverter : JsonConverter<Normalization>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override Normalization Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = ConfigValueJson.ReadString(ref reader);
        return ConfigNames.TryParse(text, out Normalization value) ? value : throw new JsonException(ConfigValueJson.MustBe<Normalization>(text));
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Normalization value, JsonSerializerOptions options) =>
        ConfigValueJson.Write(writer, value.ToConfigValue());
}

/// <summary><c>positional_embedding_type</c>: <c>"standard"</c> or <c>"shortformer"</c> (null is not allowed).</summary>
internal sealed class PositionalEmbeddingJsonConverter : JsonConverter<PositionalEmbedding>
{
    /// <inheritdoc/>
    public override PositionalEmbedding Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = ConfigValueJson.ReadString(ref reader) ?? throw new JsonException();
        return ConfigNames.TryParse(text, out PositionalEmbedding value) ? value : throw new JsonException(ConfigValueJson.MustBe<PositionalEmbedding>(text));
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, PositionalEmbedding value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToConfigValue());
}

/// <summary><c>act_fn</c>: <c>"gelu"</c>, <c>"gelu_new"</c>, <c>"relu"</c>, or null (the serializer reads and writes nulls).</summary>
internal sealed class ActivationFunctionJsonConverter : JsonConverter<ActivationFunction?>
{
    /// <inheritdoc/>
    public override ActivationFunction? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = ConfigValueJson.ReadString(ref reader);
        return ConfigNames.TryParse(text, out ActivationFunction value) ? value : throw new JsonException(ConfigValueJson.MustBe<ActivationFunction>(text));
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, ActivationFunction? value, JsonSerializerOptions options) =>
        ConfigValueJson.Write(writer, value?.ToConfigValue());
}
