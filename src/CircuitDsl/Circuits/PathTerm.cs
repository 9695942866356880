using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// One term of a <see cref="PathTermSet"/>: the sum of some paths of a <see cref="PathDecomposition"/> (the paper's
/// term for a chain of heads, a source's paths, or the rest), with what it contributes to the logits.
/// </summary>
public sealed class PathTerm
{
    private readonly IReadOnlyList<IReadOnlyList<int>> _tokens;

    internal PathTerm(string name, IReadOnlyList<PathId> paths, Tensor logits, double share, IReadOnlyList<IReadOnlyList<int>> tokens)
    {
        Name = name;
        Paths = paths;
        Logits = logits;
        Share = share;
        _tokens = tokens;
    }

    /// <summary><c>direct</c>, <c>L0H1</c>, <c>L1H2_L0H3</c> (later head first), <c>b0</c>, <c>mlp1</c>, <c>b_U</c> or <c>rest</c>.</summary>
    public string Name { get; }

    /// <summary>The paths summed; empty for the rest, which sums every path of a higher order than listed.</summary>
    public IReadOnlyList<PathId> Paths { get; }

    /// <summary>Its contribution to the logits <c>[batch, pos, d_vocab]</c>.</summary>
    public Tensor Logits { get; }

    /// <summary>
    /// The sum of its paths' shares (<see cref="PathDecomposition.Shares"/>: each path's squared norm over the sum of
    /// every path's and the rest's), so the shares of a <see cref="PathTermSet"/>'s terms sum to 1.
    /// </summary>
    public double Share { get; }

    /// <summary>
    /// Its contribution to the logit of the token that actually comes next, <c>[batch, pos - 1]</c>: at position
    /// <c>p</c>, to the logit of token <c>p + 1</c>.
    /// </summary>
    public Tensor NextTokenLogit()
    {
        var (batch, positions, vocab) = (Logits.Shape[0], Logits.Shape[1], Logits.Shape[2]);
        var result = new Tensor(batch, positions - 1);
        var logits = Logits.Span;
        var target = result.Span;
        for (var b = 0; b < batch; b++)
        {
            for (var p = 0; p < positions - 1; p++)
            {
                target[(b * (positions - 1)) + p] = logits[(((b * positions) + p) * vocab) + _tokens[b][p + 1]];
            }
        }

        return result;
    }

    /// <summary>Its contribution to the logit of <paramref name="token"/> minus that of <paramref name="other"/>, <c>[batch, pos]</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside the vocabulary.</exception>
    public Tensor LogitDifference(int token, int other)
    {
        var (batch, positions, vocab) = (Logits.Shape[0], Logits.Shape[1], Logits.Shape[2]);
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, vocab);
        ArgumentOutOfRangeException.ThrowIfNegative(other);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(other, vocab);
        var result = new Tensor(batch, positions);
        var logits = Logits.Span;
        var target = result.Span;
        for (var row = 0; row < batch * positions; row++)
        {
            target[row] = logits[(row * vocab) + token] - logits[(row * vocab) + other];
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
