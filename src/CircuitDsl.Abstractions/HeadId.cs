namespace CircuitDsl;

/// <summary>An attention head in the paper's <c>layer.head</c> notation, e.g. <c>1.4</c>.</summary>
public readonly struct HeadId(int layer, int head) : IEquatable<HeadId>
{
    /// <summary>The layer (block) index, 0 first.</summary>
    public int Layer { get; } = layer;

    /// <summary>The head index within its layer.</summary>
    public int Head { get; } = head;

    /// <summary>Whether two ids name the same head.</summary>
    public static bool operator ==(HeadId left, HeadId right) => left.Equals(right);

    /// <summary>Whether two ids name different heads.</summary>
    public static bool operator !=(HeadId left, HeadId right) => !left.Equals(right);

    /// <inheritdoc />
    public bool Equals(HeadId other) => Layer == other.Layer && Head == other.Head;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is HeadId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => unchecked((Layer * 397) ^ Head);

    /// <summary>The id as <c>layer.head</c>.</summary>
    public override string ToString() =>
        Layer.ToString(System.Globalization.CultureInfo.InvariantCulture) + "."
        + Head.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Which input of the later head reads what the earlier head wrote (Elhage et al. 2021).</summary>
public enum CompositionKind
{
    /// <summary>Q-composition: the later head's queries.</summary>
    Q,

    /// <summary>K-composition: the later head's keys.</summary>
    K,

    /// <summary>V-composition: the later head's values.</summary>
    V,
}
