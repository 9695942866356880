using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// The exact path expansion of a model's logits on some tokens (<see cref="PathDecomposition"/>, paths of up to
/// <see cref="MaxOrder"/> heads) grouped into the paper's terms (docs/math.md, "The paper's terms"): the direct path,
/// one term per head and one per virtual head, each the sum of the <c>embed</c> and <c>pos_embed</c> paths through
/// those heads; then every path from each other source (<c>b{l}</c>, <c>mlp{l}</c>, <c>b_U</c>), and the rest.
/// Those terms (<see cref="Terms"/>) sum to the logits. A generated model's <c>Paths(tokens)</c> derives from it
/// with a member per term.
/// </summary>
public class PathTermSet
{
    /// <summary>The most heads on a listed path: the paper's terms stop at virtual heads, the rest holds the others.</summary>
    public const int MaxOrder = 2;

    private readonly Dictionary<string, PathTerm> _terms = [];
    private Dictionary<PathId, double>? _shares;
    private double _restShare;

    /// <summary>Decomposes the logits of <paramref name="weights"/> on <paramref name="tokens"/>.</summary>
    /// <exception cref="ArgumentException">The tokens are bad, or the paths are too many (as <see cref="PathDecomposition.Compute"/>).</exception>
    public PathTermSet(TransformerWeights weights, int[][] tokens)
    {
        Decomposition = PathDecomposition.Compute(weights, tokens, MaxOrder);
    }

    /// <summary>The runtime's decomposition: every listed path, the rest, shares and term importance.</summary>
    public PathDecomposition Decomposition { get; }

    /// <summary>The direct path, <c>embed</c> and <c>pos_embed</c> straight to the unembedding: the bigram statistics and positions.</summary>
    public PathTerm Direct => Through();

    /// <summary>The unembedding's constant, <c>b_U</c> (with the final LayerNorm's bias through <c>W_U</c>).</summary>
    public PathTerm UnembedBias => Source(PathSource.UnembedBias);

    /// <summary>Every path of more than <see cref="MaxOrder"/> heads, summed (zero when the model has no such path).</summary>
    public PathTerm Rest => Cached("rest", () =>
    {
        Shares();
        return new PathTerm("rest", [], Decomposition.Rest ?? new Tensor(Decomposition.Logits.Shape.ToArray()), _restShare, Decomposition.Tokens);
    });

    /// <summary>
    /// Every term once, summing to the logits: <see cref="Direct"/>, each head's term, each virtual head's (later
    /// head, then earlier), each other source's paths (<c>b0</c>, <c>mlp0</c>, <c>b1</c>, …, <c>b_U</c>), then <see cref="Rest"/>.
    /// </summary>
    public IReadOnlyList<PathTerm> Terms
    {
        get
        {
            var c = Decomposition.Config;
            var heads = Enumerable.Range(0, c.NLayers).SelectMany(l => Enumerable.Range(0, c.NHeads).Select(h => new HeadId(l, h))).ToList();
            var terms = new List<PathTerm> { Direct };
            terms.AddRange(heads.Select(h => Through(h)));
            terms.AddRange(heads.SelectMany(later => heads.Where(earlier => earlier.Layer < later.Layer).Select(earlier => Through(earlier, later))));
            for (var l = 0; l < c.NLayers; l++)
            {
                terms.Add(Source(PathSource.AttentionBias(l)));
                if (c.HasMlp)
                {
                    terms.Add(Source(PathSource.Mlp(l)));
                }
            }

            terms.Add(UnembedBias);
            terms.Add(Rest);
            return terms;
        }
    }

    /// <summary>
    /// The paper's term for a chain of heads, earliest first (none: the direct path): the <c>embed</c> path through
    /// them plus the <c>pos_embed</c> one (standard positions). Named later head first: <c>L1H2_L0H3</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The heads' layers do not strictly increase, a head is not in the model, or there are more than <see cref="MaxOrder"/>.</exception>
    public PathTerm Through(params HeadId[] heads)
    {
        ArgumentNullException.ThrowIfNull(heads);
        var name = heads.Length == 0 ? "direct" : string.Join("_", heads.Reverse().Select(h => $"L{h.Layer}H{h.Head}"));
        var paths = new List<PathId> { new(PathSource.Embed, heads) };
        if (!Decomposition.Config.IsShortformer)
        {
            paths.Add(new PathId(PathSource.PosEmbed, heads));
        }

        return Cached(name, () => Sum(name, paths));
    }

    /// <summary>Every listed path from <paramref name="source"/>, summed: its direct contribution and its paths through heads.</summary>
    /// <exception cref="ArgumentException">The model has no such source.</exception>
    public PathTerm Source(PathSource source)
    {
        var name = source.ToString();
        return Cached(name, () =>
        {
            var paths = Decomposition.Terms.Select(t => t.Id).Where(id => id.Source == source).ToList();
            return paths.Count > 0 ? Sum(name, paths) : throw new ArgumentException($"This model has no source {source}.", nameof(source));
        });
    }

    /// <summary>
    /// The loss change when <paramref name="term"/> is removed from the logits (<see cref="PathExpansion.RemovalLossChange"/>
    /// of its paths, or of every path above <see cref="MaxOrder"/> for the rest): the loss of the logits built from every
    /// other term, minus the model's loss. No logits are materialised.
    /// </summary>
    /// <exception cref="ArgumentException">The term names a path this model does not have, or the sequences have one token.</exception>
    public double RemovalLossChange(PathTerm term)
    {
        ArgumentNullException.ThrowIfNull(term);
        return term.Paths.Count == 0
            ? Decomposition.Expansion.RemovalLossChange([], restAbove: MaxOrder)
            : Decomposition.Expansion.RemovalLossChange(term.Paths);
    }

    private PathTerm Sum(string name, IReadOnlyList<PathId> paths)
    {
        var logits = new Tensor(Decomposition.Logits.Shape.ToArray());
        var target = logits.Span;
        var shares = Shares();
        double share = 0;
        foreach (var id in paths)
        {
            var term = Decomposition.Term(id).Logits.Span;
            for (var i = 0; i < target.Length; i++)
            {
                target[i] += term[i];
            }

            share += shares[id];
        }

        return new PathTerm(name, paths, logits, share, Decomposition.Tokens);
    }

    private PathTerm Cached(string name, Func<PathTerm> create)
    {
        if (!_terms.TryGetValue(name, out var term))
        {
            term = create();
            _terms.Add(name, term);
        }

        return term;
    }

    private Dictionary<PathId, double> Shares()
    {
        if (_shares is null)
        {
            var shares = Decomposition.Shares();
            _shares = shares.Where(s => s.Id is not null).ToDictionary(s => s.Id!, s => s.Share);
            _restShare = shares.Where(s => s.Id is null).Sum(s => s.Share);
        }

        return _shares;
    }
}
