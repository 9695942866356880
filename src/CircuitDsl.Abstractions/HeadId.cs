// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal),
// so head ids are parsed by one grammar at compile time and at run time, and composition kinds have one home.
using System;
using System.Globalization;

namespace CircuitDsl;

/// <summary>
/// An attention head named the paper's way, <c>layer.head</c>: <c>"1.4"</c> is head 4 of layer 1 (both counted
/// from 0). This type holds the one grammar for head ids; the source generator compiles the same file, so a
/// head id the compiler accepts is one the runtime accepts.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
readonly struct HeadId : IEquatable<HeadId>, IComparable<HeadId>
{
    /// <summary>The head <paramref name="head"/> of layer <paramref name="layer"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Either index is negative.</exception>
    public HeadId(int layer, int head)
    {
        if (layer < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, "A layer index is never negative.");
        }

        if (head < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(head), head, "A head index is never negative.");
        }

        Layer = layer;
        Head = head;
    }

    /// <summary>The layer, counted from 0.</summary>
    public int Layer { get; }

    /// <summary>The head within its layer, counted from 0.</summary>
    public int Head { get; }

    /// <summary>
    /// Parses <c>layer.head</c>: two non-negative decimal integers without signs, spaces or leading zeros,
    /// separated by one dot.
    /// </summary>
    /// <param name="text">The text to parse, e.g. <c>"1.4"</c>.</param>
    /// <param name="id">The head, when parsing succeeds.</param>
    /// <param name="error">Why <paramref name="text"/> is not a head id, as a sentence; null on success.</param>
    public static bool TryParse(string? text, out HeadId id, out string? error)
    {
        id = default;
        if (text is null || text.Length == 0)
        {
            error = "A head id is empty; write it as layer.head, like \"1.4\".";
            return false;
        }

        var dot = text.IndexOf('.');
        if (dot < 0)
        {
            error = $"'{text}' is not a head id: it has no '.'; write layer.head, like \"1.4\".";
            return false;
        }

        if (text.IndexOf('.', dot + 1) >= 0)
        {
            error = text.IndexOf(',') >= 0
                ? $"'{text}' is not a head id: it lists several heads; give each its own string: \"{string.Join("\", \"", SplitList(text))}\"."
                : $"'{text}' is not a head id: it has more than one '.'; write layer.head, like \"1.4\".";
            return false;
        }

        if (!TryParseIndex(text, 0, dot, "layer", out var layer, out error)
            || !TryParseIndex(text, dot + 1, text.Length, "head", out var head, out error))
        {
            return false;
        }

        id = new HeadId(layer, head);
        return true;
    }

    /// <summary>Parses <c>layer.head</c>; see <see cref="TryParse(string?, out HeadId, out string?)"/>.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not a head id; the message says why.</exception>
    public static HeadId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>The paper's notation, <c>layer.head</c>.</summary>
    public override string ToString() =>
        Layer.ToString(CultureInfo.InvariantCulture) + "." + Head.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public bool Equals(HeadId other) => Layer == other.Layer && Head == other.Head;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is HeadId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => unchecked((Layer * 397) ^ Head);

    /// <summary>Orders heads by layer, then by head.</summary>
    public int CompareTo(HeadId other) => Layer != other.Layer ? Layer.CompareTo(other.Layer) : Head.CompareTo(other.Head);

    /// <summary>Whether two ids name the same head.</summary>
    public static bool operator ==(HeadId left, HeadId right) => left.Equals(right);

    /// <summary>Whether two ids name different heads.</summary>
    public static bool operator !=(HeadId left, HeadId right) => !left.Equals(right);

    private static bool TryParseIndex(string text, int start, int end, string part, out int value, out string? error)
    {
        value = 0;
        if (start == end)
        {
            error = $"'{text}' is not a head id: the {part} is missing; write layer.head, like \"1.4\".";
            return false;
        }

        if (end - start > 1 && text[start] == '0')
        {
            error = $"'{text}' is not a head id: the {part} has a leading zero; write \"{Canonical(text)}\".";
            return false;
        }

        for (var i = start; i < end; i++)
        {
            var c = text[i];
            if (c < '0' || c > '9')
            {
                error = $"'{text}' is not a head id: the {part} '{text.Substring(start, end - start)}' is not a "
                    + "non-negative whole number; write layer.head, like \"1.4\".";
                return false;
            }

            if (value > (int.MaxValue - (c - '0')) / 10)
            {
                error = $"'{text}' is not a head id: the {part} is too large.";
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        error = null;
        return true;
    }

    private static string[] SplitList(string text)
    {
        var parts = text.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = parts[i].Trim();
        }

        return parts;
    }

    // Only called once both parts are known to be digits apart from leading zeros.
    private static string Canonical(string text)
    {
        var dot = text.IndexOf('.');
        return Trim(text.Substring(0, dot)) + "." + Trim(text.Substring(dot + 1));

        static string Trim(string digits)
        {
            var trimmed = digits.TrimStart('0');
            return trimmed.Length == 0 ? "0" : trimmed;
        }
    }
}

/// <summary>
/// Which input of a later head reads what an earlier head wrote into the residual stream (Elhage et al. 2021,
/// "Composition"): its queries, its keys or its values.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum CompositionKind
{
    /// <summary>Q-composition: the later head's queries read the earlier head's output (<c>W_QK</c> on the left).</summary>
    Q,

    /// <summary>K-composition: the later head's keys read the earlier head's output (<c>W_QK</c> transposed); induction heads.</summary>
    K,

    /// <summary>V-composition: the later head's values read the earlier head's output (<c>W_OV</c>); virtual attention heads.</summary>
    V,
}
