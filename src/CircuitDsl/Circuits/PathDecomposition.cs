using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// The exact path expansion of any model on some tokens (docs/math.md, "Path expansion"): attention patterns and
/// every LayerNorm scale are frozen at their values in the real forward pass, so the logits are linear in the
/// residual stream's sources and split exactly into one term per path (a source, then heads in strictly increasing
/// layers). Works on the weights as stored.
/// </summary>
/// <remarks>
/// The terms up to <see cref="MaxOrder"/> are listed (all of them when it is null); <see cref="Rest"/> is the sum of
/// the others, computed by the recursion over (layer, order) residual sums, not as the logits minus the listed terms,
/// so that the terms plus the rest equal <see cref="Logits"/> is an identity the tests can check.
/// </remarks>
public sealed class PathDecomposition
{
    /// <summary>The most terms one decomposition lists (<see cref="PathLimits.MaxListedTerms"/>, which the generator shares); more is refused (ask for a lower order).</summary>
    public const int MaxListedTerms = PathLimits.MaxListedTerms;

    /// <summary>The most logits the listed terms hold together (2^28 floats, 1 GiB); more is refused (a lower order, or fewer tokens).</summary>
    public const long MaxListedLogits = 1L << 28;

    private readonly Frozen _frozen;

    /// <summary>The residual contributions at the final LayerNorm, summed over paths of each order <c>[n_layers + 1]</c>.</summary>
    private readonly Tensor[] _byOrder;

    private readonly Dictionary<PathId, PathContribution> _byId;

    private PathDecomposition(Frozen frozen, int? maxOrder, IReadOnlyList<PathContribution> terms, Tensor[] byOrder, Tensor? rest)
    {
        _frozen = frozen;
        MaxOrder = maxOrder;
        Terms = terms;
        _byOrder = byOrder;
        Rest = rest;
        _byId = terms.ToDictionary(t => t.Id);
    }

    /// <summary>The largest order listed, or null when every term is.</summary>
    public int? MaxOrder { get; }

    /// <summary>The model's logits <c>[batch, pos, d_vocab]</c> from the real forward pass.</summary>
    public Tensor Logits => _frozen.Logits;

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
    /// <see cref="MaxListedTerms"/> or hold more than <see cref="MaxListedLogits"/> logits.
    /// </exception>
    public static PathDecomposition Compute(TransformerWeights weights, int[][] tokens, int? maxOrder = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        if (maxOrder < 0)
        {
            throw new ArgumentException($"The largest path order must be 0 or more, not {maxOrder}.", nameof(maxOrder));
        }

        var count = CountTerms(weights.Config, maxOrder);
        if (count > MaxListedTerms)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"This model has {count:G6} paths of order up to {maxOrder ?? weights.Config.NLayers}, more than the {MaxListedTerms} terms one decomposition lists: ask for a lower order (--order)."),
                nameof(maxOrder));
        }

        CircuitDsl.Model.Tokens.Validate(tokens, weights.Config);
        var logits = count * tokens.Length * tokens[0].Length * weights.Config.DVocab;
        if (logits > MaxListedLogits)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{count} terms of {tokens.Length} × {tokens[0].Length} × {weights.Config.DVocab} logits would hold {logits:G6} floats, more than the {MaxListedLogits} one decomposition holds: ask for a lower order (--order) or give fewer tokens."),
                nameof(tokens));
        }

        var frozen = new Frozen(weights, tokens);
        var terms = new List<PathContribution>();
        foreach (var source in Sources(weights.Config).Where(s => s.Kind != PathSourceKind.UnembedBias))
        {
            Enumerate(frozen, new PathId(source), frozen.SourceResidual(source), maxOrder, terms);
        }

        terms.Add(new PathContribution(new PathId(PathSource.UnembedBias), frozen.UnembedBias()));
        var byOrder = frozen.ResidualsByOrder();
        Tensor? rest = null;
        if (maxOrder is { } k)
        {
            var above = frozen.Zeros();
            for (var order = k + 1; order < byOrder.Length; order++)
            {
                Accumulate(above, byOrder[order]);
            }

            rest = frozen.Unembed(above);
        }

        var ordered = terms.OrderBy(t => t.Id.Order).ThenBy(t => SourceRank(t.Id.Source)).ThenBy(t => t.Id, HeadsComparer.Instance).ToList();
        return new PathDecomposition(frozen, maxOrder, ordered, byOrder, rest);
    }

    /// <summary>
    /// How many terms a decomposition of models of <paramref name="config"/> lists with paths of order at most
    /// <paramref name="maxOrder"/> (all when null); a double, since deep models have astronomically many.
    /// </summary>
    public static double CountTerms(ModelConfig config, int? maxOrder)
    {
        ArgumentNullException.ThrowIfNull(config);
        double total = 0;
        foreach (var source in Sources(config))
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
    /// norm of its logits, and its share, the squared norm over the sum of all squared norms (the shares sum to 1).
    /// </summary>
    public IReadOnlyList<TermShare> Shares()
    {
        var sizes = Terms.Select(t => (Id: (PathId?)t.Id, Norm: Frobenius(t.Logits))).ToList();
        if (Rest is { } rest)
        {
            sizes.Add((null, Frobenius(rest)));
        }

        var total = sizes.Sum(s => s.Norm * s.Norm);
        return [.. sizes.Select(s => new TermShare(s.Id, s.Norm, total == 0 ? 0 : s.Norm * s.Norm / total))];
    }

    /// <summary>
    /// Term importance: for <c>k = 0 … n_layers</c>, the mean next-token cross-entropy (as <see cref="Losses"/>) of the
    /// logits built from only the terms of order at most <c>k</c>; the last is the model's loss.
    /// </summary>
    /// <exception cref="ArgumentException">The sequences have one token, so nothing is predicted.</exception>
    public IReadOnlyList<OrderLoss> Importance()
    {
        var residual = _frozen.Zeros();
        var bias = _frozen.UnembedBias();
        var losses = new List<OrderLoss>();
        for (var k = 0; k < _byOrder.Length; k++)
        {
            Accumulate(residual, _byOrder[k]);
            var logits = _frozen.Unembed(residual);
            Accumulate(logits, bias);
            losses.Add(new OrderLoss(k, Losses.NextTokenCrossEntropy(logits, _frozen.Tokens)));
        }

        return losses;
    }

    /// <summary>The mean next-token cross-entropy of the model's logits (as <see cref="Losses"/>): the last order of <see cref="Importance"/>.</summary>
    /// <exception cref="ArgumentException">The sequences have one token, so nothing is predicted.</exception>
    public double Loss() => LossOf(Logits);

    /// <summary>The mean next-token cross-entropy of <paramref name="logits"/> <c>[batch, pos, d_vocab]</c> (some terms' sum) on these tokens.</summary>
    /// <exception cref="ArgumentException">The logits are not of these tokens' shape, or the sequences have one token.</exception>
    public double LossOf(Tensor logits) => Losses.NextTokenCrossEntropy(logits, _frozen.Tokens);

    /// <summary>
    /// The loss change when the listed term <paramref name="id"/> is removed: the mean next-token cross-entropy of the
    /// logits minus that term's contribution (the sum of every other term and the rest), minus <see cref="Loss"/>.
    /// Positive when the model needs the term.
    /// </summary>
    /// <exception cref="ArgumentException">No such term is listed, or the sequences have one token.</exception>
    public double RemovalLossChange(PathId id) => RemovalLossChange(Term(id).Logits);

    /// <summary>
    /// The loss change when a contribution <paramref name="termLogits"/> <c>[batch, pos, d_vocab]</c> (a term, or a sum of
    /// terms) is removed from the logits: <c>loss(logits − term) − loss(logits)</c>.
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
        var target = without.Span;
        var term = termLogits.Span;
        for (var i = 0; i < target.Length; i++)
        {
            target[i] -= term[i];
        }

        return LossOf(without) - Loss();
    }

    /// <summary>Every source of the model, in listing order: embed, pos_embed (standard positions), b0, mlp0, b1, …, b_U.</summary>
    private static IEnumerable<PathSource> Sources(ModelConfig config)
    {
        yield return PathSource.Embed;
        if (!config.IsShortformer)
        {
            yield return PathSource.PosEmbed;
        }

        for (var l = 0; l < config.NLayers; l++)
        {
            yield return PathSource.AttentionBias(l);
            if (config.HasMlp)
            {
                yield return PathSource.Mlp(l);
            }
        }

        yield return PathSource.UnembedBias;
    }

    private static int SourceRank(PathSource source) => source.Kind switch
    {
        PathSourceKind.Embed => 0,
        PathSourceKind.PosEmbed => 1,
        PathSourceKind.AttentionBias => 2 + (2 * source.Layer),
        PathSourceKind.Mlp => 3 + (2 * source.Layer),
        _ => int.MaxValue,
    };

    /// <summary>Depth first from <paramref name="path"/>, whose residual contribution is <paramref name="residual"/>: each prefix once.</summary>
    private static void Enumerate(Frozen frozen, PathId path, Tensor residual, int? maxOrder, List<PathContribution> terms)
    {
        terms.Add(new PathContribution(path, frozen.Unembed(residual)));
        if (path.Order == maxOrder)
        {
            return;
        }

        var first = path.Order == 0 ? path.Source.FirstReader : path.Heads[^1].Layer + 1;
        for (var layer = first; layer < frozen.Config.NLayers; layer++)
        {
            var normalized = frozen.NormalizeForAttention(residual, layer);
            for (var h = 0; h < frozen.Config.NHeads; h++)
            {
                var head = new HeadId(layer, h);
                Enumerate(frozen, new PathId(path.Source, path.Heads.Append(head)), frozen.ThroughHead(normalized, head), maxOrder, terms);
            }
        }
    }

    private static double Frobenius(Tensor t)
    {
        double sum = 0;
        foreach (var v in t.Span)
        {
            sum += (double)v * v;
        }

        return Math.Sqrt(sum);
    }

    private static void Accumulate(Tensor target, Tensor source)
    {
        var t = target.Span;
        var s = source.Span;
        for (var i = 0; i < t.Length; i++)
        {
            t[i] += s[i];
        }
    }

    /// <summary>Orders paths of one source and order by their heads, earliest first.</summary>
    private sealed class HeadsComparer : IComparer<PathId>
    {
        public static readonly HeadsComparer Instance = new();

        public int Compare(PathId? x, PathId? y)
        {
            for (var i = 0; i < Math.Min(x!.Order, y!.Order); i++)
            {
                var c = x.Heads[i].CompareTo(y.Heads[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return x.Order.CompareTo(y.Order);
        }
    }

    /// <summary>The real forward pass on the tokens, and the linear maps it freezes: patterns and LayerNorm scales.</summary>
    private sealed class Frozen
    {
        private readonly TransformerWeights _weights;
        private readonly Tensor[] _patterns;
        private readonly float[][] _inverseScales;
        private readonly float[] _finalInverseScale;
        private readonly Tensor[] _mlpOut;

        public Frozen(TransformerWeights weights, int[][] tokens)
        {
            _weights = weights;
            Tokens = tokens;
            var c = weights.Config;
            var pass = new HookedTransformer(weights).Begin(tokens, cacheNames: name =>
                name.EndsWith("hook_pattern", StringComparison.Ordinal) || name.EndsWith("hook_resid_pre", StringComparison.Ordinal)
                || name.EndsWith("hook_mlp_out", StringComparison.Ordinal));
            Batch = pass.Batch;
            Positions = pass.Positions;
            for (var l = 0; l < c.NLayers; l++)
            {
                pass.Block(l);
            }

            Logits = pass.Unembed();
            _patterns = [.. Enumerable.Range(0, c.NLayers).Select(pass.Cache.Pattern)];
            _inverseScales = [.. Enumerable.Range(0, c.NLayers).Select(l => FrozenLayerNorm.InverseScales(c, pass.Cache[HookNames.ResidPre(l)]))];
            _finalInverseScale = FrozenLayerNorm.InverseScales(c, pass.Residual);
            _mlpOut = c.HasMlp ? [.. Enumerable.Range(0, c.NLayers).Select(l => pass.Cache[HookNames.MlpOut(l)].Reshape(Rows, c.DModel))] : [];
        }

        public ModelConfig Config => _weights.Config;

        public int[][] Tokens { get; }

        public Tensor Logits { get; }

        private int Batch { get; }

        private int Positions { get; }

        private int Rows => Batch * Positions;

        public Tensor Zeros() => new(Rows, Config.DModel);

        /// <summary>A source's contribution to the residual stream <c>[rows, d_model]</c>.</summary>
        public Tensor SourceResidual(PathSource source)
        {
            var r = Zeros();
            var constant = source.Kind == PathSourceKind.AttentionBias ? AttentionConstant(source.Layer) : null;
            for (var row = 0; row < Rows; row++)
            {
                var from = source.Kind switch
                {
                    PathSourceKind.Embed => _weights.W_E[Tokens[row / Positions][row % Positions]],
                    PathSourceKind.PosEmbed => _weights.W_pos[row % Positions],
                    PathSourceKind.Mlp => _mlpOut[source.Layer][row],
                    _ => constant!,
                };
                from.Span.CopyTo(r[row].Span);
            }

            return r;
        }

        /// <summary>
        /// <c>b_O + Σ_h (b_ln1 W_V^h + b_V^h) W_O^h</c> <c>[d_model]</c>: what attention layer <paramref name="layer"/>
        /// writes whatever it reads.
        /// </summary>
        private Tensor AttentionConstant(int layer)
        {
            var c = Config;
            var b = _weights.Blocks[layer];
            var constant = b.b_O.Clone().Reshape(1, c.DModel);
            for (var h = 0; h < c.NHeads; h++)
            {
                var value = b.b_V[h].Clone().Reshape(1, c.DHead);
                if (b.Ln1B is { } lnBias)
                {
                    Gemm.MatMul(lnBias.Reshape(1, c.DModel), b.W_V[h], value, beta: 1f);
                }

                Gemm.MatMul(value, b.W_O[h], constant, beta: 1f);
            }

            return constant.Reshape(c.DModel);
        }

        /// <summary><c>b_U + b_final W_U</c>, at every position <c>[batch, pos, d_vocab]</c>.</summary>
        public Tensor UnembedBias()
        {
            var c = Config;
            var constant = FrozenLayerNorm.UnembedConstant(_weights);
            var logits = new Tensor(Batch, Positions, c.DVocab);
            for (var row = 0; row < Rows; row++)
            {
                constant.Span.CopyTo(logits.Span.Slice(row * c.DVocab, c.DVocab));
            }

            return logits;
        }

        /// <summary><c>N_f(r) W_U</c> <c>[batch, pos, d_vocab]</c>: a residual contribution's logits through the frozen final LayerNorm.</summary>
        public Tensor Unembed(Tensor residual) =>
            Gemm.MatMul(FrozenLayerNorm.Apply(Config, residual, _finalInverseScale, _weights.LnFinalW), _weights.W_U).Reshape(Batch, Positions, Config.DVocab);

        /// <summary><c>N_l(r)</c>: a residual contribution through layer <paramref name="layer"/>'s frozen LN1, as its heads' values read it.</summary>
        public Tensor NormalizeForAttention(Tensor residual, int layer) =>
            FrozenLayerNorm.Apply(Config, residual, _inverseScales[layer], _weights.Blocks[layer].Ln1W);

        /// <summary>
        /// <c>A^{l,h} · (N_l(r) W_V^h) W_O^h</c> per sequence <c>[rows, d_model]</c>, given <c>N_l(r)</c>
        /// (<see cref="NormalizeForAttention"/>): no biases (they are sources).
        /// </summary>
        public Tensor ThroughHead(Tensor normalized, HeadId head)
        {
            var c = Config;
            var b = _weights.Blocks[head.Layer];
            var v = Gemm.MatMul(normalized, b.W_V[head.Head]);
            var z = new Tensor(Rows, c.DHead);
            for (var s = 0; s < Batch; s++)
            {
                var a = _patterns[head.Layer][s][head.Head];
                Gemm.Sgemm(false, false, Positions, c.DHead, Positions, 1f, a.Span, Positions, v.Span[(s * Positions * c.DHead)..], c.DHead,
                    0f, z.Span[(s * Positions * c.DHead)..], c.DHead);
            }

            return Gemm.MatMul(z, b.W_O[head.Head]);
        }

        /// <summary>
        /// Every order's residual sum at the final LayerNorm <c>[n_layers + 1][rows, d_model]</c>, by the recursion: a
        /// layer's heads move order <c>k</c> of its input to order <c>k + 1</c>; its constant and MLP add to order 0.
        /// </summary>
        public Tensor[] ResidualsByOrder()
        {
            var c = Config;
            var byOrder = new Tensor[c.NLayers + 1];
            byOrder[0] = SourceResidual(PathSource.Embed);
            if (!c.IsShortformer)
            {
                Accumulate(byOrder[0], SourceResidual(PathSource.PosEmbed));
            }

            for (var k = 1; k <= c.NLayers; k++)
            {
                byOrder[k] = Zeros();
            }

            for (var l = 0; l < c.NLayers; l++)
            {
                // Orders above l are still zero at layer l's input; from the highest down, so each reads its input.
                for (var k = l; k >= 0; k--)
                {
                    var normalized = NormalizeForAttention(byOrder[k], l);
                    for (var h = 0; h < c.NHeads; h++)
                    {
                        Accumulate(byOrder[k + 1], ThroughHead(normalized, new HeadId(l, h)));
                    }
                }

                Accumulate(byOrder[0], SourceResidual(PathSource.AttentionBias(l)));
                if (c.HasMlp)
                {
                    Accumulate(byOrder[0], SourceResidual(PathSource.Mlp(l)));
                }
            }

            return byOrder;
        }
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

/// <summary>The size of one term of a <see cref="PathDecomposition"/> (<see cref="PathDecomposition.Shares"/>).</summary>
/// <param name="Id">The path, or null for the rest (every term of a higher order than listed).</param>
/// <param name="Norm">The Frobenius norm of the term's logits over the whole batch.</param>
/// <param name="Share"><paramref name="Norm"/> squared over the sum of every term's squared norm.</param>
public sealed record TermShare(PathId? Id, double Norm, double Share);
