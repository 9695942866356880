using System.Globalization;

namespace CircuitDsl.Model;

/// <summary>
/// A forward pass computed a NaN or infinite logit: with finite weights, the pass overflowed. Names the first such logit
/// (<see cref="Sequence"/>, <see cref="Position"/>, <see cref="Token"/>) and its <see cref="Value"/>.
/// </summary>
public sealed class NonFiniteLogitException(int sequence, int position, int token, float value) : ArithmeticException(
    string.Create(CultureInfo.InvariantCulture, $"The logit of token {token} at sequence {sequence}, position {position} is {value}."))
{
    /// <summary>The sequence of the batch.</summary>
    public int Sequence { get; } = sequence;

    /// <summary>The position in the sequence.</summary>
    public int Position { get; } = position;

    /// <summary>The vocabulary entry whose logit it is.</summary>
    public int Token { get; } = token;

    /// <summary>The logit: NaN or an infinity.</summary>
    public float Value { get; } = value;
}
