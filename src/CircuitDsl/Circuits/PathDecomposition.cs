using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// The exact path expansion of any model on some tokens (docs/math.md, "Path expansion") with every listed term's
/// logits held: the materialised special case of <see cref="PathExpansion"/> for small inputs (specs' claims, tests).
/// Attention patterns and every LayerNorm scale are frozen at their values in the real forward pass, so the logits are
/// linear in the residual stream's sources and split exactly into one term per path (a source, then heads in strictly
/// increasing layers). Works on the weights as stored.
/// </summary>
/// <remarks>
/// The terms up to <see cref="MaxOrder"/> are listed (all of them when it is null); <see cref="Rest"/> is the sum of
/// the others, computed by the recursion over (layer, order) residual sums, not as the logits minus the listed terms,
/// so that the terms plus the rest equal <see cref="Logits"/> is an identity the tests can check. Shares, term
/// importance and removal losses are <see cref="Expansion"/>'s, which never needs the terms' logits.
/// </remarks>
public sealed class PathDecomposition
{
    /// <summary>The most terms one decomposition lists (<see cref="PathLimits.MaxListedTerms"/>, which the generator shares); more is refused (ask for a lower order).</summary>
    public const int MaxListedTerms = PathLimits.MaxListedTerms;

    /// <summary>The most logits the listed terms hold together (2^28 floats, 1 GiB); more is refused (a lower order, or fewer tokens).</summary>
    public const long MaxListedLogits = 1L << 28;

    private readonly PathExpansion.Frozen _frozen;

    private readonly Dictionary<PathId, PathContribution> _byId;

    private PathDecomposition(PathExpansion.Frozen frozen, PathExpansion expansion, int? maxOrder, IReadOnlyList<PathContribution> terms, Tensor? rest)
    {
        _frozen = frozen;
        Expansion = expansion;
        MaxOrder = maxOrder;
        Terms = terms;
        Rest = rest;
        _byId = terms.ToDictionary(t => t.Id);
    }

    /// <summary>The streamed expansion of the same pass: shares, term importance and removal losses without logits.</summary>
    public PathExpansion Expansion { get; }

    /// <summary>The largest order listed, or null when every term is.</summary>
    public int? MaxOrder { get; }

    /// <summary>The model's logits <c>[batch, pos, d_vocab]</c> from the real forward pass.</summary>
    public Tensor Logits => _frozen.Logits!;

    /// <summary>The decomposed model's config.</summary>
    public ModelConfig Config => _frozen.Config;

    /// <summary>The tokens the logits are for, one array per sequence.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Tokens => _frozen.Tokens;

    /// <summary>
    /// The listed terms, each with its contribution to the logits: by order, then source (<c>embed</c>,
    /// <c>pos_embed</c>, <c>b0</c>, <c>mlp0</c>, <c>b1</c>, …, <c>b_U</c>), then heads.
    /// </summary>
    public IReadOnlyList<PathContribution> Terms { get; }

    /// <summary>The sum of every term of order above <see cref="MaxOrder"/> <c>[batch, pos, d_vocab]</c>; null when every term is listed.</summary>
    public Tensor? Rest { get; }

    /// <summary>
    /// Decomposes the logits of <paramref name="weights"/> on <paramref name="tokens"/> into the paths of order at most
    /// <paramref name="maxOrder"/> (every path when null) and the rest.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The tokens are bad, <paramref name="maxOrder"/> is negative, or the terms listed would be more than
    /// <see cref="MaxListedTerms"/> or hold more than <see cref="MaxListedLogits"/> logits (<see cref="PathExpansion"/>
    /// streams them instead).
    /// </exception>
    public static PathDecomposition Compute(TransformerWeights weights, int[][] tokens, int? maxOrder = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        PathExpansion.RequireListable(weights.Config, maxOrder);
        CircuitDsl.Model.Tokens.Validate(tokens, weights.Config);
        var count = CountTerms(weights.Config, maxOrder);
        var logits = count * tokens.Length * tokens[0].Length * weights.Config.DVocab;
        if (logits > MaxListedLogits)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{count} terms of {tokens.Length} × {tokens[0].Length} × {weights.Config.DVocab} logits would hold {logits:G6} floats, more than the {MaxListedLogits} one decomposition holds: ask for a lower order (--order) or give fewer tokens."),
                nameof(tokens));
        }

        var frozen = new PathExpansion.Frozen(weights, tokens, keepLogits: true);
        var expansion = PathExpansion.Over(frozen);
        var terms = new List<PathContribution>();
        Tensor? rest = null;
        expansion.Unembed(maxOrder, (id, termLogits) =>
        {
            if (id is null)
            {
                rest = termLogits;
            }
            else
            {
                terms.Add(new PathContribution(id, termLogits));
            }
        });
        return new PathDecomposition(frozen, expansion, maxOrder, terms, rest);
    }

    /// <summary>
    /// How many terms a decomposition of models of <paramref name="config"/> lists with paths of order at most
    /// <paramref name="maxOrder"/> (all when null); a double, since deep models have astronomically many.
    /// </summary>
    public static double CountTerms(ModelConfig config, int? maxOrder)
    {
        ArgumentNullException.ThrowIfNull(config);
        double total = 0;
        foreach (var source in PathExpansion.Sources(config))
        {
            if (source.Kind == PathSourceKind.UnembedBias)
            {
                total++;
                continue;
            }

            // Order k through the layers after the source: choose k of them, and a head in each.
            var layers = config.NLayers - source.FirstReader;
            double choose = 1;
            for (var k = 0; k <= Math.Min(layers, maxOrder ?? layers); k++)
            {
                total += choose * Math.Pow(config.NHeads, k);
                choose = choose * (layers - k) / (k + 1);
            }
        }

        return total;
    }

    /// <summary>The listed term <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException">The model has no such path, or it is of an order not listed.</exception>
    public PathContribution Term(PathId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return _byId.TryGetValue(id, out var term)
            ? term
            : throw new ArgumentException($"This decomposition lists no term {id}.", nameof(id));
    }

    /// <summary>
    /// The size of every listed term and of <see cref="Rest"/> (last, with a null id, when there is one): the Frobenius
    /// norm of its logits, its share (the squared norm over the sum of all squared norms; the shares sum to 1) and its
    /// mean next-token logit, as <see cref="PathExpansion.Shares"/> computes them.
    /// </summary>
    public IReadOnlyList<TermShare> Shares() => Expansion.Shares(MaxOrder);

    /// <summary>Term importance by order (<see cref="PathExpansion.Importance"/>); the last is the model's loss.</summary>
    /// <exception cref="ArgumentException">The sequences have one token, so nothing is predicted.</exception>
    public IReadOnlyList<OrderLoss> Importance() => Expansion.Importance();

    /// <summary>The mean next-token cross-entropy of the model's logits (<see cref="PathExpansion.Loss"/>): the last order of <see cref="Importance"/>.</summary>
    /// <exception cref="ArgumentException">The sequences have one token, so nothing is predicted.</exception>
    public double Loss() => Expansion.Loss();

    /// <summary>The mean next-token cross-entropy of <paramref name="logits"/> <c>[batch, pos, d_vocab]</c> (some terms' sum) on these tokens.</summary>
    /// <exception cref="ArgumentException">The logits are not of these tokens' shape, or the sequences have one token.</exception>
    public double LossOf(Tensor logits) => Losses.NextTokenCrossEntropy(logits, _frozen.Tokens);

    /// <summary>
    /// The loss change when the listed term <paramref name="id"/> is removed (<see cref="PathExpansion.RemovalLossChange"/>):
    /// the mean next-token cross-entropy of the sum of every other term and the rest, minus <see cref="Loss"/>. Positive
    /// when the model needs the term.
    /// </summary>
    /// <exception cref="ArgumentException">No such term is listed, or the sequences have one token.</exception>
    public double RemovalLossChange(PathId id)
    {
        Term(id);
        return Expansion.RemovalLossChange([id]);
    }

    /// <summary>
    /// The loss change when a contribution <paramref name="termLogits"/> <c>[batch, pos, d_vocab]</c> (any logits, such
    /// as a sum of terms) is removed from the logits: <c>loss(logits − term) − loss(logits)</c>, both of materialised logits.
    /// </summary>
    /// <exception cref="ArgumentException">The contribution's shape is not the logits', or the sequences have one token.</exception>
    public double RemovalLossChange(Tensor termLogits)
    {
        ArgumentNullException.ThrowIfNull(termLogits);
        if (!termLogits.HasShape(Logits.Shape.ToArray()))
        {
            throw new ArgumentException(
                $"A term's logits are {Tensor.FormatShape(termLogits.Shape)}, not the model's {Tensor.FormatShape(Logits.Shape)}.", nameof(termLogits));
        }

        var without = Logits.Clone();
        TensorPrimitives.Subtract(without.Span, termLogits.Span, without.Span);

        return LossOf(without) - LossOf(Logits);
    }
}

/// <summary>One listed term of a <see cref="PathDecomposition"/>.</summary>
/// <param name="Id">The path.</param>
/// <param name="Logits">Its contribution to the logits <c>[batch, pos, d_vocab]</c>.</param>
public sealed record PathContribution(PathId Id, Tensor Logits);

/// <summary>The loss of the logits built from the terms of order at most <paramref name="Order"/> (<see cref="PathDecomposition.Importance"/>).</summary>
/// <param name="Order">The largest order kept.</param>
/// <param name="Loss">Mean next-token cross-entropy, natural log.</param>
public sealed record OrderLoss(int Order, double Loss);

/// <summary>The size of one term of a path expansion (<see cref="PathExpansion.Shares"/>).</summary>
/// <param name="Id">The path, or null for the rest (every term of a higher order than listed).</param>
/// <param name="Norm">The Frobenius norm of the term's logits over the whole batch.</param>
/// <param name="Share"><paramref name="Norm"/> squared over the sum of every term's squared norm.</param>
/// <param name="NextTokenLogit">
/// Its mean contribution to the logit of the token that comes next, over every predicting position (NaN when the
/// sequences have one token).
/// </param>
public sealed record TermShare(PathId? Id, double Norm, double Share, double NextTokenLogit);
