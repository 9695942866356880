// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal),
// so the attribute's enum values and their TransformerLens config spellings have one home.
using System;

namespace CircuitDsl;

/// <summary>Where a transformer normalises its residual stream (TransformerLens <c>normalization_type</c>).</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum Normalization
{
    /// <summary><c>LN</c>: LayerNorm with a learned weight and bias before each block and the unembed.</summary>
    LN,

    /// <summary><c>LNPre</c>: LayerNorm without learned parameters (they were folded into the next weights).</summary>
    LNPre,

    /// <summary>No normalisation (TransformerLens <c>null</c>); path expansion is then exact.</summary>
    None,
}

/// <summary>How positions enter the model (TransformerLens <c>positional_embedding_type</c>).</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum PositionalEmbedding
{
    /// <summary><c>standard</c>: <c>W_pos</c> is added to the residual stream with the token embedding.</summary>
    Standard,

    /// <summary><c>shortformer</c>: <c>W_pos</c> is added only to the inputs of queries and keys.</summary>
    Shortformer,
}

/// <summary>The MLP nonlinearity (TransformerLens <c>act_fn</c>).</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum ActivationFunction
{
    /// <summary><c>gelu</c>: the exact GELU.</summary>
    Gelu,

    /// <summary><c>gelu_new</c>: GPT-2's tanh approximation of GELU.</summary>
    GeluNew,

    /// <summary><c>relu</c>.</summary>
    Relu,
}

/// <summary>
/// The TransformerLens <c>config.json</c> spellings of the architecture enums, both ways: the one place they are
/// written down. The runtime's config converters, the CLI's flags and the generator all go through it.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
static class ConfigNames
{
    /// <summary><c>"LN"</c>, <c>"LNPre"</c>, or null for <see cref="Normalization.None"/>.</summary>
    public static string? ToConfigValue(this Normalization value) => value switch
    {
        Normalization.LN => "LN",
        Normalization.LNPre => "LNPre",
        Normalization.None => null,
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "Not a normalization."),
    };

    /// <summary><c>"standard"</c> or <c>"shortformer"</c>.</summary>
    public static string ToConfigValue(this PositionalEmbedding value) => value switch
    {
        PositionalEmbedding.Standard => "standard",
        PositionalEmbedding.Shortformer => "shortformer",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "Not a positional embedding."),
    };

    /// <summary><c>"gelu"</c>, <c>"gelu_new"</c> or <c>"relu"</c>.</summary>
    public static string ToConfigValue(this ActivationFunction value) => value switch
    {
        ActivationFunction.Gelu => "gelu",
        ActivationFunction.GeluNew => "gelu_new",
        ActivationFunction.Relu => "relu",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "Not an activation function."),
    };

    /// <summary>Reads a <c>normalization_type</c>: <c>"LN"</c>, <c>"LNPre"</c>, or null for <see cref="Normalization.None"/>.</summary>
    /// <returns>Whether <paramref name="value"/> is one of these spellings (exactly, as TransformerLens compares them).</returns>
    public static bool TryParse(string? value, out Normalization result) => TryParseAny(value, out result);

    /// <summary>Reads a <c>positional_embedding_type</c>: <c>"standard"</c> or <c>"shortformer"</c>.</summary>
    /// <returns>Whether <paramref name="value"/> is one of these spellings (exactly, as TransformerLens compares them).</returns>
    public static bool TryParse(string? value, out PositionalEmbedding result) => TryParseAny(value, out result);

    /// <summary>Reads an <c>act_fn</c>: <c>"gelu"</c>, <c>"gelu_new"</c> or <c>"relu"</c>.</summary>
    /// <returns>Whether <paramref name="value"/> is one of these spellings (exactly, as TransformerLens compares them).</returns>
    public static bool TryParse(string? value, out ActivationFunction result) => TryParseAny(value, out result);

    /// <summary>
    /// The config spellings of every <typeparamref name="T"/> as a phrase for messages, e.g. <c>LN, LNPre or null</c>;
    /// <paramref name="none"/> stands for the null spelling of <see cref="Normalization.None"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not one of the architecture enums.</exception>
    public static string Choices<T>(string none = "null")
        where T : struct, Enum
    {
        var values = (T[])Enum.GetValues(typeof(T));
        var phrase = "";
        for (var i = 0; i < values.Length; i++)
        {
            phrase += (i == 0 ? "" : i == values.Length - 1 ? " or " : ", ") + (Spell(values[i]) ?? none);
        }

        return phrase;
    }

    private static bool TryParseAny<T>(string? value, out T result)
        where T : struct, Enum
    {
        foreach (var candidate in (T[])Enum.GetValues(typeof(T)))
        {
            if (string.Equals(Spell(candidate), value, StringComparison.Ordinal))
            {
                result = candidate;
                return true;
            }
        }

        result = default;
        return false;
    }

    private static string? Spell<T>(T value)
        where T : struct, Enum => value switch
    {
        Normalization n => n.ToConfigValue(),
        PositionalEmbedding p => p.ToConfigValue(),
        ActivationFunction a => a.ToConfigValue(),
        _ => throw new ArgumentException($"{typeof(T).Name} is not an architecture enum.", nameof(value)),
    };
}
