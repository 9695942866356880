// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal), so the path
// terms a [PathTerm] may name are parsed by one grammar at compile time and at run time.
using System;
using System.Globalization;
using System.Linq;

namespace CircuitDsl;

/// <summary>What a path claim measures of its term (docs/math.md, "Path claims").</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum PathMeasure
{
    /// <summary>The term's share of the logits: its squared Frobenius norm over the sum of every term's (0…1).</summary>
    Share,

    /// <summary>The term's contribution to the logit of the token that actually comes next, averaged over every predicted position.</summary>
    NextTokenLogit,
}

/// <summary>Which kind of term a <see cref="PathTermNames"/> name names.</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum PathTermKind
{
    /// <summary><c>direct</c>: the embeddings straight to the unembedding.</summary>
    Direct,

    /// <summary><c>layer.head</c>: the embeddings through that one head.</summary>
    Head,

    /// <summary><c>b{l}</c>: every path from attention layer l's constant.</summary>
    AttentionBias,

    /// <summary><c>mlp{l}</c>: every path from MLP l's output.</summary>
    Mlp,

    /// <summary><c>b_U</c>: the unembedding's constant.</summary>
    UnembedBias,
}

/// <summary>
/// The grammar of the path terms a <c>[PathTerm]</c> claim names: <c>direct</c>, a head <c>layer.head</c> (its term),
/// <c>b{l}</c> (attention layer l's constant and its paths), <c>mlp{l}</c> (MLP l's output and its paths) or
/// <c>b_U</c>. The generator compiles the same file, so a name the compiler accepts is one the runtime reads.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
static class PathTermNames
{
    /// <summary>The direct path's name.</summary>
    public const string Direct = "direct";

    /// <summary>The unembedding constant's name.</summary>
    public const string UnembedBias = "b_U";

    /// <summary>What the names may be, for error messages.</summary>
    public const string Choices = "\"direct\", a head such as \"0.1\", \"b0\" (a layer's attention constant), \"mlp0\" (an MLP's output) or \"b_U\"";

    /// <summary>Parses a term name.</summary>
    /// <param name="text">The name, e.g. <c>"direct"</c>, <c>"1.3"</c>, <c>"mlp0"</c>.</param>
    /// <param name="kind">Which kind of term it names.</param>
    /// <param name="head">For <see cref="PathTermKind.Head"/>, the head.</param>
    /// <param name="layer">For <see cref="PathTermKind.Head"/>, <see cref="PathTermKind.AttentionBias"/> and <see cref="PathTermKind.Mlp"/>, the layer; else 0.</param>
    /// <param name="error">Why <paramref name="text"/> names no term, as a sentence; null on success.</param>
    public static bool TryParse(string? text, out PathTermKind kind, out HeadId head, out int layer, out string? error)
    {
        kind = PathTermKind.Direct;
        head = default;
        layer = 0;
        error = null;
        switch (text)
        {
            case Direct:
                return true;
            case UnembedBias:
                kind = PathTermKind.UnembedBias;
                return true;
        }

        if (text is not null && text.Length > 0 && char.IsDigit(text[0]))
        {
            if (!HeadId.TryParse(text, out head, out error))
            {
                return false;
            }

            kind = PathTermKind.Head;
            layer = head.Layer;
            return true;
        }

        foreach (var (prefix, prefixKind) in new[] { ("mlp", PathTermKind.Mlp), ("b", PathTermKind.AttentionBias) })
        {
            if (text is not null && text.StartsWith(prefix, StringComparison.Ordinal) && IsLayer(text.Substring(prefix.Length), out layer))
            {
                kind = prefixKind;
                return true;
            }
        }

        error = $"'{text}' names no path term; name {Choices}.";
        return false;
    }

    /// <summary>A non-negative decimal integer without sign or leading zero.</summary>
    private static bool IsLayer(string digits, out int layer)
    {
        layer = 0;
        return digits.Length > 0 && (digits.Length == 1 || digits[0] != '0')
            && digits.All(char.IsDigit)
            && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out layer);
    }
}
