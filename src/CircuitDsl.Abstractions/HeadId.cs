// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal),
// so head ids are parsed by one grammar at compile time and at run time, and composition kinds have one home.
using System;
using System.Globalization;

namespace CircuitDsl;

/// <summary>
/// An attention head named the paper's way, <c>layer.head</c>: <c>"1.4"</c> is head 4 of layer 1 (both counted
/// from 0). This type holds the one grammar for head ids; the source generator compiles the same file, so a
/// head id the compiler accepts is one the runtime accepts. A spec may also name a head by its role in a layer,
/// <c>layer.role</c> (<see cref="TryParseRole"/>): <c>"0.previous-token"</c> is whichever layer-0 head scores highest as a
/// previous-token head on the model measured, so a claim can hold on every training seed although the head that takes
/// the role differs from seed to seed.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
readonly struct HeadId : IEquatable<HeadId>, IComparable<HeadId>
{
    // 0 for a head named by its index, else the HeadRole it is named by.
    private readonly int _role;

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
        _role = 0;
    }

    /// <summary>The head of layer <paramref name="layer"/> that takes <paramref name="role"/> (the highest score of that kind).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The layer is negative or the role is not one of <see cref="HeadRole"/>'s.</exception>
    public HeadId(int layer, HeadRole role)
    {
        if (layer < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, "A layer index is never negative.");
        }

        if (RoleName(role) is null)
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "Not a head role.");
        }

        Layer = layer;
        Head = -1;
        _role = (int)role;
    }

    /// <summary>The layer, counted from 0.</summary>
    public int Layer { get; }

    /// <summary>The head within its layer, counted from 0; −1 for a head named by its <see cref="Role"/>.</summary>
    public int Head { get; }

    /// <summary>The role this id names a head by (<c>"0.previous-token"</c>), or null for a head named by its index.</summary>
    public HeadRole? Role => _role == 0 ? null : (HeadRole)_role;

    /// <summary>The roles a spec can name a head by, as written after the layer: <c>previous-token</c>, ….</summary>
    public static string[] RoleNames => new[] { "previous-token", "duplicate-token", "induction", "copying" };

    /// <summary>
    /// Parses <c>layer.role</c>, a head named by its role in a layer: the layer as in <see cref="TryParse(string?, out HeadId, out string?)"/>,
    /// then one of <see cref="RoleNames"/>. <c>"1.induction"</c> is the layer-1 head with the highest induction score.
    /// </summary>
    /// <param name="text">The text to parse, e.g. <c>"0.previous-token"</c>.</param>
    /// <param name="id">The role head, when parsing succeeds.</param>
    /// <param name="error">Why <paramref name="text"/> is not a role head, as a sentence; null on success.</param>
    public static bool TryParseRole(string? text, out HeadId id, out string? error)
    {
        id = default;
        var dot = text is null ? -1 : text.IndexOf('.');
        if (text is null || dot < 0)
        {
            error = $"'{text}' is not a role head; write layer.role, like \"0.previous-token\".";
            return false;
        }

        if (!TryParseIndex(text, 0, dot, "layer", out var layer, out error))
        {
            return false;
        }

        var name = text.Substring(dot + 1);
        var index = Array.IndexOf(RoleNames, name);
        if (index < 0)
        {
            error = $"'{text}' is not a head id: '{name}' is neither a head index nor a role (roles: {string.Join(", ", RoleNames)}).";
            return false;
        }

        id = new HeadId(layer, (HeadRole)(index + 1));
        return true;
    }

    /// <summary>
    /// Parses a head as a spec may write it: <c>layer.head</c> (<see cref="TryParse(string?, out HeadId, out string?)"/>) or,
    /// when the part after the dot starts with a letter, <c>layer.role</c> (<see cref="TryParseRole"/>).
    /// </summary>
    public static bool TryParseHeadOrRole(string? text, out HeadId id, out string? error)
    {
        var dot = text is null ? -1 : text.IndexOf('.');
        return dot >= 0 && dot + 1 < text!.Length && char.IsLetter(text[dot + 1]) && text.IndexOf(',') < 0
            ? TryParseRole(text, out id, out error)
            : TryParse(text, out id, out error);
    }

    private static string? RoleName(HeadRole role) => (int)role >= 1 && (int)role <= RoleNames.Length ? RoleNames[(int)role - 1] : null;

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
        Layer.ToString(CultureInfo.InvariantCulture) + "." + (Role is { } role ? RoleName(role) : Head.ToString(CultureInfo.InvariantCulture));

    /// <inheritdoc/>
    public bool Equals(HeadId other) => Layer == other.Layer && Head == other.Head && _role == other._role;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is HeadId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => unchecked((((Layer * 397) ^ Head) * 31) + _role);

    /// <summary>Orders heads by layer, then by head (a head named by role before those named by index, roles in <see cref="HeadRole"/>'s order).</summary>
    public int CompareTo(HeadId other) =>
        Layer != other.Layer ? Layer.CompareTo(other.Layer) : Head != other.Head ? Head.CompareTo(other.Head) : _role.CompareTo(other._role);

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
/// A role a head can take in its layer, each the highest score of one kind among the layer's heads (ties to the lower
/// index): a spec names such a head <c>layer.role</c>, e.g. <c>"0.previous-token"</c>.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum HeadRole
{
    /// <summary><c>previous-token</c>: the highest previous-token score.</summary>
    PreviousToken = 1,

    /// <summary><c>duplicate-token</c>: the highest duplicate-token score.</summary>
    DuplicateToken = 2,

    /// <summary><c>induction</c>: the highest induction score.</summary>
    Induction = 3,

    /// <summary><c>copying</c>: the highest copying score of the full OV circuit.</summary>
    Copying = 4,
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
