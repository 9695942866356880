namespace CircuitDsl.Circuits;

/// <summary>Where a path of a <see cref="PathDecomposition"/> starts (docs/math.md, "Path expansion").</summary>
public enum PathSourceKind
{
    /// <summary>The token embedding <c>W_E[token]</c>.</summary>
    Embed,

    /// <summary>The positional embedding <c>W_pos[position]</c>; standard positions only (shortformer positions reach no value).</summary>
    PosEmbed,

    /// <summary>
    /// The constant attention layer <c>l</c> writes: <c>b_O</c> plus each head's value constant (LN1's bias through
    /// <c>W_V</c>, plus <c>b_V</c>) through <c>W_O</c>; the same at every position, since a pattern's rows sum to 1.
    /// </summary>
    AttentionBias,

    /// <summary>The whole output of the MLP of layer <c>l</c> in the real forward pass: an opaque source.</summary>
    Mlp,

    /// <summary><c>b_U</c> plus the final LayerNorm's bias through <c>W_U</c>: order 0, read by no head.</summary>
    UnembedBias,
}

/// <summary>
/// The source of a path: <c>embed</c>, <c>pos_embed</c>, <c>b{l}</c> (attention layer <c>l</c>'s constant),
/// <c>mlp{l}</c> or <c>b_U</c>.
/// </summary>
public readonly record struct PathSource
{
    private PathSource(PathSourceKind kind, int layer)
    {
        Kind = kind;
        Layer = layer;
    }

    /// <summary>The token embedding.</summary>
    public static PathSource Embed => new(PathSourceKind.Embed, 0);

    /// <summary>The positional embedding.</summary>
    public static PathSource PosEmbed => new(PathSourceKind.PosEmbed, 0);

    /// <summary>The unembedding's constant.</summary>
    public static PathSource UnembedBias => new(PathSourceKind.UnembedBias, 0);

    /// <summary>What kind of source this is.</summary>
    public PathSourceKind Kind { get; }

    /// <summary>The layer that writes it, for <c>b{l}</c> and <c>mlp{l}</c>; 0 for the others.</summary>
    public int Layer { get; }

    /// <summary>The earliest layer whose heads read this source: <c>l + 1</c> for <c>b{l}</c> and <c>mlp{l}</c>, else 0.</summary>
    internal int FirstReader => Kind is PathSourceKind.AttentionBias or PathSourceKind.Mlp ? Layer + 1 : 0;

    /// <summary>The constant attention layer <paramref name="layer"/> writes, <c>b{layer}</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is negative.</exception>
    public static PathSource AttentionBias(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        return new(PathSourceKind.AttentionBias, layer);
    }

    /// <summary>The output of the MLP of layer <paramref name="layer"/>, <c>mlp{layer}</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is negative.</exception>
    public static PathSource Mlp(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        return new(PathSourceKind.Mlp, layer);
    }

    /// <summary><c>embed</c>, <c>pos_embed</c>, <c>b0</c>, <c>mlp0</c> or <c>b_U</c>, as <c>paths --json</c> names it.</summary>
    public override string ToString() => Kind switch
    {
        PathSourceKind.Embed => "embed",
        PathSourceKind.PosEmbed => "pos_embed",
        PathSourceKind.AttentionBias => $"b{Layer}",
        PathSourceKind.Mlp => $"mlp{Layer}",
        _ => "b_U",
    };
}

/// <summary>
/// One path of a <see cref="PathDecomposition"/>: a source, then heads in strictly increasing layers, each reached
/// through its value input, ending at the unembedding. Named <c>embed → 0.1 → 1.3</c>.
/// </summary>
public sealed class PathId : IEquatable<PathId>
{
    private readonly HeadId[] _heads;

    /// <summary>The path from <paramref name="source"/> through <paramref name="heads"/>, earliest first.</summary>
    /// <exception cref="ArgumentException">
    /// The heads' layers do not strictly increase, the first head is not after the layer that writes the source, or
    /// <c>b_U</c> has heads.
    /// </exception>
    public PathId(PathSource source, params IEnumerable<HeadId> heads)
    {
        ArgumentNullException.ThrowIfNull(heads);
        _heads = [.. heads];
        if (source.Kind == PathSourceKind.UnembedBias && _heads.Length > 0)
        {
            throw new ArgumentException("b_U is added after the last layer; no head reads it.", nameof(heads));
        }

        var earliest = source.FirstReader;
        foreach (var head in _heads)
        {
            if (head.Layer < earliest)
            {
                throw new ArgumentException(
                    $"No path {source} → {string.Join(" → ", _heads)}: head {head} cannot read what is written at layer {earliest - 1} or later.",
                    nameof(heads));
            }

            earliest = head.Layer + 1;
        }

        Source = source;
    }

    /// <summary>Where the path starts.</summary>
    public PathSource Source { get; }

    /// <summary>The heads on the path, earliest layer first.</summary>
    public IReadOnlyList<HeadId> Heads => _heads;

    /// <summary>The number of heads on the path.</summary>
    public int Order => _heads.Length;

    /// <inheritdoc />
    public bool Equals(PathId? other) => other is not null && Source == other.Source && _heads.AsSpan().SequenceEqual(other._heads);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PathId);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Source);
        foreach (var head in _heads)
        {
            hash.Add(head);
        }

        return hash.ToHashCode();
    }

    /// <summary><c>embed</c>, <c>b0 → 1.2</c>, <c>embed → 0.1 → 1.3</c>.</summary>
    public override string ToString() => string.Join(" → ", _heads.Select(h => h.ToString()).Prepend(Source.ToString()));
}
