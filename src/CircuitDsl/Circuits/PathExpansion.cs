using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// The exact path expansion of any model on some tokens (docs/math.md, "Path expansion"), streamed: what a user reads
/// of every path — its size and share, its mean contribution to the next token's logit, term importance by order, the
/// loss change when paths are removed — computed without any term's <c>[batch, pos, d_vocab]</c> logits, and each
/// term's logits one at a time for whoever wants them (<see cref="Unembed"/>). <see cref="PathDecomposition"/> is the
/// materialised special case for small inputs.
/// </summary>
/// <remarks>
/// A term's logits are <c>N_f(r) W_U</c>, linear in its residual contribution <c>r</c>, so its squared norm is
/// <c>Σ_rows u G uᵀ</c> with <c>u = N_f(r)</c> and the Gram matrix <c>G = W_U W_Uᵀ</c>; for a path whose last head is
/// <c>h</c>, <c>r = z W_O^h</c> and the norm is <c>Σ_rows s² z M_h zᵀ</c> with <c>M_h = P_h G P_hᵀ</c>,
/// <c>P_h = W_O^h C diag(w_final)</c> (<c>C</c> centres, <c>s</c> is the frozen inverse scale). Losses are reduced
/// straight out of the unembedding by row blocks (<see cref="Losses"/>). Paths are walked depth first, so only the
/// current path's residuals are alive: memory is <c>O(n_layers × rows × d_model)</c> besides the weights and the
/// loss kernel's blocks.
/// </remarks>
public sealed class PathExpansion
{
    private readonly Frozen _frozen;
    private readonly Lazy<Tensor[]> _byOrder;
    private readonly Lazy<Tensor> _unembedBias;
    private readonly Lazy<double> _loss;
    private readonly Lazy<IReadOnlyList<OrderLoss>> _importance;
    private readonly Lazy<Quadratic> _quadratic;

    private PathExpansion(Frozen frozen)
    {
        _frozen = frozen;
        _byOrder = new Lazy<Tensor[]>(frozen.ResidualsByOrder);
        _unembedBias = new Lazy<Tensor>(() => FrozenLayerNorm.UnembedConstant(frozen.Weights));
        // Once term importance is known, its last order is the loss; the values are the same either way.
        _loss = new Lazy<double>(() => _importance!.IsValueCreated ? _importance.Value[^1].Loss : LossOfResidual(Total(), _unembedBias.Value));
        _importance = new Lazy<IReadOnlyList<OrderLoss>>(ComputeImportance);
        _quadratic = new Lazy<Quadratic>(() => new Quadratic(frozen));
    }

    /// <summary>The expanded model's config.</summary>
    public ModelConfig Config => _frozen.Config;

    /// <summary>The tokens the expansion is of, one array per sequence.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Tokens => _frozen.Tokens;

    /// <summary>
    /// Runs <paramref name="weights"/> on <paramref name="tokens"/> once and freezes its attention patterns and
    /// LayerNorm scales (no logits are kept); everything else is computed on demand.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch for this model.</exception>
    public static PathExpansion Compute(TransformerWeights weights, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        CircuitDsl.Model.Tokens.Validate(tokens, weights.Config);
        return new PathExpansion(new Frozen(weights, tokens, keepLogits: false));
    }

    /// <summary>The expansion over a pass that <see cref="PathDecomposition"/> froze (with its logits).</summary>
    internal static PathExpansion Over(Frozen frozen) => new(frozen);

    /// <summary>
    /// The size of every path of order at most <paramref name="maxOrder"/> (every path when null), in listing order (by
    /// order, then source <c>embed</c>, <c>pos_embed</c>, <c>b0</c>, <c>mlp0</c>, …, <c>b_U</c>, then heads), and, when
    /// <paramref name="maxOrder"/> is given, of the rest last (a null id): the Frobenius norm of its logits, its share
    /// (squared norm over the sum of all of them; the shares sum to 1) and its mean contribution to the logit of the
    /// token that comes next (NaN when the sequences have one token). No term's logits are made.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="maxOrder"/> is negative, or the paths are more than <see cref="PathDecomposition.MaxListedTerms"/>.</exception>
    public IReadOnlyList<TermShare> Shares(int? maxOrder)
    {
        RequireListable(Config, maxOrder);
        var q = _quadratic.Value;
        var sizes = new List<(PathId? Id, double Square, double Next)>();
        var buffers = new WalkBuffers(_frozen);
        foreach (var source in Sources(Config).Where(s => s.Kind != PathSourceKind.UnembedBias))
        {
            Walk(new PathId(source), Value.Of(_frozen.SourceResidual(source)), maxOrder, exactOrder: null, buffers, (id, value) =>
            {
                var (square, next) = value.Z is { } z ? q.OfHead(z, value.Head, buffers.Products) : q.OfResidual(value.Residual);
                sizes.Add((id, square, next));
            });
        }

        var (biasSquare, biasNext) = q.OfConstant(_unembedBias.Value);
        sizes.Add((new PathId(PathSource.UnembedBias), biasSquare, biasNext));

        // Depth first lists each source's paths in heads order, and the sources in listing order: a stable sort by order is the listing.
        var listed = sizes.OrderBy(s => s.Id!.Order).ToList();
        if (maxOrder is { } k)
        {
            var (square, next) = q.OfResidual(Above(k));
            listed.Add((null, square, next));
        }

        var total = listed.Sum(s => s.Square);
        var predicted = _frozen.Tokens.Length * (_frozen.Tokens[0].Length - 1);
        return [.. listed.Select(s => new TermShare(
            s.Id, Math.Sqrt(s.Square), total == 0 ? 0 : s.Square / total, predicted == 0 ? double.NaN : s.Next / predicted))];
    }

    /// <summary>
    /// Term importance: for <c>k = 0 … n_layers</c>, the mean next-token cross-entropy (as <see cref="Losses"/>) of the
    /// logits built from only the terms of order at most <c>k</c>, reduced by row blocks straight out of the
    /// unembedding; the last is <see cref="Loss"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The sequences have one token, so nothing is predicted.</exception>
    /// <exception cref="NonFiniteLogitException">Some partial sum's logits overflow; the model's own are checked first, so an overflow of theirs is named as the model's.</exception>
    public IReadOnlyList<OrderLoss> Importance() => _importance.Value;

    private IReadOnlyList<OrderLoss> ComputeImportance()
    {
        // Every order's sum, stacked through the final LayerNorm, is reduced by one pass of the fused kernel (one
        // unembedding of all their rows), not one each: each row's value is the same either way, and each order's
        // mean sums its rows in the same order. The model's own rows (the last order) go first, unless its loss is
        // known already: on GPT-2 small's 15 tokens that pass is mostly the packing of all of W_E, once instead of twice.
        var byOrder = _byOrder.Value;
        int partial = byOrder.Length - 1, rows = _frozen.Rows, dm = Config.DModel;
        var withModel = !_loss.IsValueCreated;
        var first = withModel ? 1 : 0;
        var losses = new List<OrderLoss>();
        if (partial + first == 0)
        {
            return [new OrderLoss(partial, Loss())];
        }

        var stacked = new Tensor((partial + first) * rows, dm);
        if (withModel)
        {
            _frozen.NormalizeFinal(Total()).Span.CopyTo(stacked.Span[..(rows * dm)]);
        }

        var residual = _frozen.Zeros();
        for (var k = 0; k < partial; k++)
        {
            Accumulate(residual, byOrder[k]);
            _frozen.NormalizeFinal(residual).Span.CopyTo(stacked.Span.Slice((first + k) * rows * dm, rows * dm));
        }

        var means = Losses.StackedMeanLosses(stacked, partial + first, _frozen.Tokens, _frozen.Weights.W_U, _unembedBias.Value);
        for (var k = 0; k < partial; k++)
        {
            losses.Add(new OrderLoss(k, means[first + k]));
        }

        losses.Add(new OrderLoss(partial, withModel ? means[0] : Loss()));
        return losses;
    }

    /// <summary>The mean next-token cross-entropy of the model's logits, the sum of every term (the last order of <see cref="Importance"/>).</summary>
    /// <exception cref="ArgumentException">The sequences have one token, so nothing is predicted.</exception>
    /// <exception cref="NonFiniteLogitException">The model's logits overflow.</exception>
    public double Loss() => _loss.Value;

    /// <summary>
    /// The loss change when the paths <paramref name="paths"/> (and, when <paramref name="restAbove"/> is given, every
    /// path of a higher order than it) are removed from the logits: the mean next-token cross-entropy of the sum of
    /// every other term, minus <see cref="Loss"/>. Positive when the model needs them.
    /// </summary>
    /// <exception cref="ArgumentException">A path is not one of this model's, or the sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">The remaining logits overflow.</exception>
    public double RemovalLossChange(IEnumerable<PathId> paths, int? restAbove = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var residual = Total();
        var bias = _unembedBias.Value.Clone();
        foreach (var path in paths)
        {
            RequireInModel(path);
            if (path.Source.Kind == PathSourceKind.UnembedBias)
            {
                Subtract(bias, _unembedBias.Value);
            }
            else
            {
                Subtract(residual, Residual(path));
            }
        }

        if (restAbove is { } k)
        {
            Subtract(residual, Above(k));
        }

        return LossOfResidual(residual, bias) - Loss();
    }

    /// <summary>
    /// Each term's logits <c>[batch, pos, d_vocab]</c>, one at a time, in listing order (as <see cref="Shares"/>), the
    /// rest last with a null id when <paramref name="maxOrder"/> is given: each is made, handed to
    /// <paramref name="visit"/> and not kept (paths of a later order recompute their prefixes, so only the current
    /// path's residuals are alive).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="maxOrder"/> is negative, or the paths are more than <see cref="PathDecomposition.MaxListedTerms"/>.</exception>
    public void Unembed(int? maxOrder, Action<PathId?, Tensor> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        RequireListable(Config, maxOrder);
        var buffers = new WalkBuffers(_frozen);
        for (var order = 0; order <= Math.Min(maxOrder ?? Config.NLayers, Config.NLayers); order++)
        {
            foreach (var source in Sources(Config).Where(s => s.Kind != PathSourceKind.UnembedBias))
            {
                Walk(new PathId(source), Value.Of(_frozen.SourceResidual(source)), maxOrder, order, buffers, (id, value) => visit(id, _frozen.Unembed(value.Residual)));
            }

            if (order == 0)
            {
                visit(new PathId(PathSource.UnembedBias), _frozen.UnembedBias(_unembedBias.Value));
            }
        }

        if (maxOrder is { } k)
        {
            visit(null, _frozen.Unembed(Above(k)));
        }
    }

    /// <summary>Every source of the model, in listing order: embed, pos_embed (standard positions), b0, mlp0, b1, …, b_U.</summary>
    internal static IEnumerable<PathSource> Sources(ModelConfig config)
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

    /// <summary>Refuses a negative order, or more paths of order at most <paramref name="maxOrder"/> than <see cref="PathDecomposition.MaxListedTerms"/>.</summary>
    /// <exception cref="ArgumentException">The order is negative or the paths too many, with a hint to ask for a lower order.</exception>
    public static void RequireListable(ModelConfig config, int? maxOrder)
    {
        if (maxOrder < 0)
        {
            throw new ArgumentException($"The largest path order must be 0 or more, not {maxOrder}.", nameof(maxOrder));
        }

        var count = PathDecomposition.CountTerms(config, maxOrder);
        if (count > PathDecomposition.MaxListedTerms)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"This model has {count:G6} paths of order up to {maxOrder ?? config.NLayers}, more than the {PathDecomposition.MaxListedTerms} terms one decomposition lists: ask for a lower order (--order)."),
                nameof(maxOrder));
        }
    }

    /// <summary>
    /// Depth first from <paramref name="path"/>, whose value is <paramref name="value"/>: visits each path of order at
    /// most <paramref name="maxOrder"/> (exactly <paramref name="exactOrder"/> when given), each prefix made once. A
    /// path's value lives in <paramref name="buffers"/>' slot for its order until its next sibling's overwrites it, so
    /// <paramref name="visit"/> must not keep it.
    /// </summary>
    private void Walk(PathId path, Value value, int? maxOrder, int? exactOrder, WalkBuffers buffers, Action<PathId, Value> visit)
    {
        if (exactOrder is null || path.Order == exactOrder)
        {
            visit(path, value);
        }

        if (path.Order == (exactOrder ?? maxOrder))
        {
            return;
        }

        var first = path.Order == 0 ? path.Source.FirstReader : path.Heads[^1].Layer + 1;
        for (var layer = first; layer < Config.NLayers; layer++)
        {
            var normalized = _frozen.NormalizeForAttention(value.Residual, layer);
            for (var h = 0; h < Config.NHeads; h++)
            {
                var head = new HeadId(layer, h);
                var order = path.Order + 1;
                var z = _frozen.Mix(normalized, head, buffers.Z[order - 1], buffers.Values);
                Walk(new PathId(path.Source, path.Heads.Append(head)), Value.Through(_frozen, z, head, buffers.Residuals[order - 1]), maxOrder, exactOrder, buffers, visit);
            }
        }
    }

    /// <summary>A path's residual contribution <c>[rows, d_model]</c>, made along its heads.</summary>
    private Tensor Residual(PathId path)
    {
        var r = _frozen.SourceResidual(path.Source);
        foreach (var head in path.Heads)
        {
            r = _frozen.Out(_frozen.Mix(_frozen.NormalizeForAttention(r, head.Layer), head), head);
        }

        return r;
    }

    private void RequireInModel(PathId path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var c = Config;
        var source = path.Source;
        var known = source.Kind switch
        {
            PathSourceKind.PosEmbed => !c.IsShortformer,
            PathSourceKind.AttentionBias => source.Layer < c.NLayers,
            PathSourceKind.Mlp => c.HasMlp && source.Layer < c.NLayers,
            _ => true,
        };
        if (!known || path.Heads.Any(h => h.Layer >= c.NLayers || h.Head >= c.NHeads))
        {
            throw new ArgumentException($"This model has no path {path}.", nameof(path));
        }
    }

    /// <summary>Every path of order above <paramref name="order"/>, summed <c>[rows, d_model]</c> (zero when there is none).</summary>
    private Tensor Above(int order)
    {
        var byOrder = _byOrder.Value;
        var above = _frozen.Zeros();
        for (var k = order + 1; k < byOrder.Length; k++)
        {
            Accumulate(above, byOrder[k]);
        }

        return above;
    }

    /// <summary>The residual stream at the final LayerNorm as the sum of every order, in order (as <see cref="Importance"/> sums it).</summary>
    private Tensor Total()
    {
        var total = _frozen.Zeros();
        foreach (var order in _byOrder.Value)
        {
            Accumulate(total, order);
        }

        return total;
    }

    private double LossOfResidual(Tensor residual, Tensor bias) =>
        Losses.NextTokenCrossEntropy(_frozen.NormalizeFinal(residual), _frozen.Tokens, _frozen.Weights.W_U, bias);

    private static void Accumulate(Tensor target, Tensor source) => TensorPrimitives.Add(target.Span, source.Span, target.Span);

    private static void Subtract(Tensor target, Tensor source) => TensorPrimitives.Subtract(target.Span, source.Span, target.Span);

    /// <summary>A path's value: its residual contribution, or, after a head, that head's mixed values <c>z</c> (the residual <c>z W_O</c> made when read).</summary>
    private sealed class Value
    {
        private readonly Frozen? _frozen;
        private readonly Tensor? _residualBuffer;
        private Tensor? _residual;

        private Value(Frozen? frozen, Tensor? residual, Tensor? z, HeadId head, Tensor? residualBuffer)
        {
            _frozen = frozen;
            _residual = residual;
            Z = z;
            Head = head;
            _residualBuffer = residualBuffer;
        }

        /// <summary>The last head's <c>A · N(r) W_V</c> <c>[rows, d_head]</c>; null for a path of order 0.</summary>
        public Tensor? Z { get; }

        /// <summary>The last head (for a path of order 1 or more).</summary>
        public HeadId Head { get; }

        public Tensor Residual => _residual ??= _frozen!.Out(Z!, Head, _residualBuffer);

        public static Value Of(Tensor residual) => new(null, residual, null, default, null);

        /// <summary>A head's value from its <paramref name="z"/>; its residual, when read, is written into <paramref name="residualBuffer"/>.</summary>
        public static Value Through(Frozen frozen, Tensor z, HeadId head, Tensor residualBuffer) => new(frozen, null, z, head, residualBuffer);
    }

    /// <summary>
    /// The depth-first walk's reused storage: per path order <c>1 … n_layers</c> a <c>z</c> <c>[rows, d_head]</c> and a
    /// residual <c>[rows, d_model]</c> (only the current path's are alive), the values <c>N(r) W_V</c> of the head
    /// being mixed and a norm's product. Reusing them spares the walk a fresh, zeroed allocation per head.
    /// </summary>
    private sealed class WalkBuffers(Frozen frozen)
    {
        public Tensor[] Z { get; } = [.. Enumerable.Range(0, frozen.Config.NLayers).Select(_ => frozen.HeadZeros())];

        public Tensor[] Residuals { get; } = [.. Enumerable.Range(0, frozen.Config.NLayers).Select(_ => frozen.Zeros())];

        public Tensor Values { get; } = frozen.HeadZeros();

        /// <summary>Scratch for a norm's <c>z M_h</c>.</summary>
        public Tensor Products { get; } = frozen.HeadZeros();
    }

    /// <summary>
    /// What a term's squared norm and next-token contribution need, computed once: the Gram matrix <c>G = W_U W_Uᵀ</c>,
    /// each head's <c>M_h</c> and <c>Q_h = W_next P_hᵀ</c> (the next tokens' unembedding columns through the head's
    /// <c>P_h</c>), the next tokens' columns <c>W_next</c> <c>[predicted, d_model]</c> and the frozen final scales.
    /// </summary>
    private sealed class Quadratic
    {
        private readonly Frozen _frozen;
        private readonly Tensor _gram;
        private readonly Tensor _next;
        private readonly int[] _nextTokens;
        private readonly Tensor?[,] _m;
        private readonly Tensor?[,] _q;
        private readonly int _dm;
        private readonly int _positions;

        /// <summary>
        /// The stacked <c>P</c> and <c>P G</c> of <see cref="Layer"/>, reused by every layer: a new pair per layer was
        /// 15,000 faults of fresh pages on GPT-2 small, which cost more on this kind of machine than the products.
        /// </summary>
        private Tensor? _stacked;
        private Tensor? _stackedGram;

        public Quadratic(Frozen frozen)
        {
            _frozen = frozen;
            var c = frozen.Config;
            var w = frozen.Weights;
            (_dm, _positions) = (c.DModel, frozen.Tokens[0].Length);
            // Neither computes a tied W_U (GPT-2's W_Eᵀ) whole.
            _gram = DeferredMatrix.Gram(w.W_U);
            _nextTokens = [.. frozen.Tokens.SelectMany(t => t.Skip(1))];
            _next = new Tensor(_nextTokens.Length, _dm);
            for (var i = 0; i < _nextTokens.Length; i++)
            {
                DeferredMatrix.CopyColumns(w.W_U, _nextTokens[i], 1, _next.Span.Slice(i * _dm, _dm));
            }

            _m = new Tensor?[c.NLayers, c.NHeads];
            _q = new Tensor?[c.NLayers, c.NHeads];
        }

        /// <summary>(‖N_f(r) W_U‖², Σ over predicting rows of the next token's logit) of a residual contribution.</summary>
        public (double Square, double Next) OfResidual(Tensor residual)
        {
            var u = _frozen.NormalizeFinal(residual);
            var ug = Gemm.MatMul(u, _gram);
            return (RowDots(u, ug, _dm, scales: null), NextSum(u, _next, _dm, scales: null));
        }

        /// <summary>
        /// The same for a path whose last head is <paramref name="head"/>, from its <c>z</c> <c>[rows, d_head]</c>;
        /// <paramref name="zm"/> (the same shape) is scratch.
        /// </summary>
        public (double Square, double Next) OfHead(Tensor z, HeadId head, Tensor zm)
        {
            var (m, q) = Head(head);
            var dh = z.Dim(1);
            Gemm.MatMul(z, m, zm);
            var scales = _frozen.FinalScales;
            return (RowDots(z, zm, dh, scales, squared: true), NextSum(z, q, dh, scales));
        }

        /// <summary>The same for a constant row of logits at every position, <paramref name="bias"/> <c>[d_vocab]</c>.</summary>
        public (double Square, double Next) OfConstant(Tensor bias)
        {
            double square = 0;
            foreach (var b in bias.Span)
            {
                square += (double)b * b;
            }

            double next = 0;
            foreach (var t in _nextTokens)
            {
                next += bias.Span[t];
            }

            return (square * _frozen.Tokens.Length * _positions, next);
        }

        private (Tensor M, Tensor Q) Head(HeadId head)
        {
            if (_m[head.Layer, head.Head] is null)
            {
                Layer(head.Layer);
            }

            return (_m[head.Layer, head.Head]!, _q[head.Layer, head.Head]!);
        }

        /// <summary>
        /// <c>M_h = P_h G P_hᵀ</c> and <c>Q_h = next · P_hᵀ</c> of every head of <paramref name="layer"/>, with
        /// <c>P_h = W_O^h C diag(w)</c> (the frozen final LayerNorm's linear part without its per-row scale): the heads'
        /// <c>P</c> stacked, so <c>P G</c> and <c>next · Pᵀ</c> are one product each for the layer, not one per head.
        /// </summary>
        private void Layer(int layer)
        {
            var c = _frozen.Config;
            int heads = c.NHeads, dh = c.DHead, width = heads * dh, rows = _nextTokens.Length;
            _stacked ??= new Tensor(width, _dm);
            _stackedGram ??= new Tensor(width, _dm);
            var p = FrozenLayerNorm.Apply(c, _frozen.Weights.Blocks[layer].W_O.Reshape(width, _dm), [1f], _frozen.Weights.LnFinalW, _stacked);
            var pg = _stackedGram;
            Gemm.MatMul(p, _gram, pg);
            var q = Gemm.MatMul(_next, p, transB: true);
            for (var h = 0; h < heads; h++)
            {
                var m = new Tensor(dh, dh);
                Gemm.Sgemm(false, true, dh, dh, _dm, 1f, pg.Span[(h * dh * _dm)..], _dm, p.Span[(h * dh * _dm)..], _dm, 0f, m.Span, dh);
                var qh = new Tensor(rows, dh);
                for (var r = 0; r < rows; r++)
                {
                    q.Span.Slice((r * width) + (h * dh), dh).CopyTo(qh.Span.Slice(r * dh, dh));
                }

                (_m[layer, h], _q[layer, h]) = (m, qh);
            }
        }

        /// <summary><c>Σ_rows s_row^(1 or 2) (a_row · b_row)</c> in double.</summary>
        private static double RowDots(Tensor a, Tensor b, int width, float[]? scales, bool squared = false)
        {
            var x = a.Span;
            var y = b.Span;
            double total = 0;
            for (var row = 0; row < x.Length / width; row++)
            {
                double dot = 0;
                for (var i = row * width; i < (row + 1) * width; i++)
                {
                    dot += (double)x[i] * y[i];
                }

                var s = scales is { Length: > 0 } ? (double)scales[row] : 1;
                total += dot * (squared ? s * s : s);
            }

            return total;
        }

        /// <summary><c>Σ over predicting rows s_row (a_row · next_row)</c>: rows are <c>[batch · pos]</c>, next rows <c>[batch · (pos − 1)]</c>.</summary>
        private double NextSum(Tensor a, Tensor next, int width, float[]? scales)
        {
            var x = a.Span;
            var y = next.Span;
            double total = 0;
            for (var r = 0; r < _nextTokens.Length; r++)
            {
                int b = r / (_positions - 1), row = (b * _positions) + (r % (_positions - 1));
                double dot = 0;
                for (var i = 0; i < width; i++)
                {
                    dot += (double)x[(row * width) + i] * y[(r * width) + i];
                }

                total += dot * (scales is { Length: > 0 } ? scales[row] : 1);
            }

            return total;
        }
    }

    /// <summary>The real forward pass on the tokens, and the linear maps it freezes: patterns and LayerNorm scales.</summary>
    internal sealed class Frozen
    {
        /// <summary>Each layer's pattern of each sequence <c>[n_layers][batch][heads, pos, pos]</c>.</summary>
        private readonly Tensor[][] _patterns;
        private readonly float[][] _inverseScales;
        private readonly Tensor[] _mlpOut;

        public Frozen(TransformerWeights weights, int[][] tokens, bool keepLogits)
        {
            Weights = weights;
            Tokens = tokens;
            var c = weights.Config;
            (Batch, Positions) = (tokens.Length, tokens[0].Length);
            var model = new HookedTransformer(weights);
            _patterns = [.. Enumerable.Range(0, c.NLayers).Select(_ => new Tensor[Batch])];
            _inverseScales = [.. Enumerable.Range(0, c.NLayers).Select(_ => new float[c.HasLayerNorm ? Rows : 0])];
            _mlpOut = c.HasMlp ? [.. Enumerable.Range(0, c.NLayers).Select(_ => Zeros())] : [];
            FinalScales = new float[c.HasLayerNorm ? Rows : 0];
            Logits = keepLogits ? new Tensor(Batch, Positions, c.DVocab) : null;

            // One sequence at a time, so that only one sequence's attention scores exist at once; its rows are b·pos … .
            for (var b = 0; b < Batch; b++)
            {
                var pass = model.Begin([tokens[b]], cacheNames: name =>
                    name.EndsWith("hook_pattern", StringComparison.Ordinal) || name.EndsWith("hook_resid_pre", StringComparison.Ordinal)
                    || name.EndsWith("hook_mlp_out", StringComparison.Ordinal));
                for (var l = 0; l < c.NLayers; l++)
                {
                    pass.Block(l);
                    _patterns[l][b] = pass.Cache.Pattern(l)[0];
                    FrozenLayerNorm.InverseScales(c, pass.Cache[HookNames.ResidPre(l)]).CopyTo(_inverseScales[l].AsSpan(_inverseScales[l].Length == 0 ? 0 : b * Positions));
                    if (c.HasMlp)
                    {
                        pass.Cache[HookNames.MlpOut(l)].Span.CopyTo(_mlpOut[l].Span[(b * Positions * c.DModel)..]);
                    }
                }

                FrozenLayerNorm.InverseScales(c, pass.Residual).CopyTo(FinalScales.AsSpan(FinalScales.Length == 0 ? 0 : b * Positions));
                if (Logits is { } logits)
                {
                    pass.Unembed().Span.CopyTo(logits.Span[(b * Positions * c.DVocab)..]);
                }
            }
        }

        public TransformerWeights Weights { get; }

        public ModelConfig Config => Weights.Config;

        public int[][] Tokens { get; }

        /// <summary>The model's logits <c>[batch, pos, d_vocab]</c>, when asked for.</summary>
        public Tensor? Logits { get; }

        /// <summary>The final LayerNorm's frozen <c>1/σ</c> per row (empty without LayerNorm).</summary>
        public float[] FinalScales { get; }

        private int Batch { get; }

        private int Positions { get; }

        public int Rows => Batch * Positions;

        public Tensor Zeros() => new(Rows, Config.DModel);

        /// <summary>A zero <c>[rows, d_head]</c>.</summary>
        public Tensor HeadZeros() => new(Rows, Config.DHead);

        /// <summary>A source's contribution to the residual stream <c>[rows, d_model]</c>.</summary>
        public Tensor SourceResidual(PathSource source)
        {
            var r = Zeros();
            var constant = source.Kind == PathSourceKind.AttentionBias ? AttentionConstant(source.Layer) : null;
            for (var row = 0; row < Rows; row++)
            {
                var from = source.Kind switch
                {
                    PathSourceKind.Embed => Weights.W_E[Tokens[row / Positions][row % Positions]],
                    PathSourceKind.PosEmbed => Weights.W_pos[row % Positions],
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
            var b = Weights.Blocks[layer];
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

        /// <summary>The constant row <paramref name="constant"/> <c>[d_vocab]</c> at every position <c>[batch, pos, d_vocab]</c>.</summary>
        public Tensor UnembedBias(Tensor constant)
        {
            var vocab = Config.DVocab;
            var logits = new Tensor(Batch, Positions, vocab);
            for (var row = 0; row < Rows; row++)
            {
                constant.Span.CopyTo(logits.Span.Slice(row * vocab, vocab));
            }

            return logits;
        }

        /// <summary><c>N_f(r)</c> <c>[rows, d_model]</c>: a residual contribution through the frozen final LayerNorm, without its bias.</summary>
        public Tensor NormalizeFinal(Tensor residual) => FrozenLayerNorm.Apply(Config, residual, FinalScales, Weights.LnFinalW);

        /// <summary><c>N_f(r) W_U</c> <c>[batch, pos, d_vocab]</c>: a residual contribution's logits through the frozen final LayerNorm.</summary>
        public Tensor Unembed(Tensor residual) => Gemm.MatMul(NormalizeFinal(residual), Weights.W_U).Reshape(Batch, Positions, Config.DVocab);

        /// <summary><c>N_l(r)</c>: a residual contribution through layer <paramref name="layer"/>'s frozen LN1, as its heads' values read it.</summary>
        public Tensor NormalizeForAttention(Tensor residual, int layer) =>
            FrozenLayerNorm.Apply(Config, residual, _inverseScales[layer], Weights.Blocks[layer].Ln1W);

        /// <summary>
        /// <c>z = A^{l,h} · N_l(r) W_V^h</c> per sequence <c>[rows, d_head]</c>, given <c>N_l(r)</c>
        /// (<see cref="NormalizeForAttention"/>): no biases (they are sources). Written into <paramref name="z"/>, with
        /// <paramref name="values"/> as scratch for <c>N_l(r) W_V^h</c> (both <c>[rows, d_head]</c>), when given.
        /// </summary>
        public Tensor Mix(Tensor normalized, HeadId head, Tensor? z = null, Tensor? values = null)
        {
            var c = Config;
            var v = values ?? HeadZeros();
            Gemm.MatMul(normalized, Weights.Blocks[head.Layer].W_V[head.Head], v);
            z ??= HeadZeros();
            for (var s = 0; s < Batch; s++)
            {
                var a = _patterns[head.Layer][s][head.Head].Span;
                var sequenceValues = v.Span[(s * Positions * c.DHead)..];
                var mixed = z.Span[(s * Positions * c.DHead)..];

                // The pattern is causal (zero after the diagonal): query rows [r0, r0 + rows) mix only the keys up to their last.
                for (var r0 = 0; r0 < Positions; r0 += ForwardKernels.RowBlock)
                {
                    var rows = Math.Min(ForwardKernels.RowBlock, Positions - r0);
                    Gemm.Sgemm(false, false, rows, c.DHead, r0 + rows, 1f, a[(r0 * Positions)..], Positions, sequenceValues, c.DHead,
                        0f, mixed[(r0 * c.DHead)..], c.DHead);
                }
            }

            return z;
        }

        /// <summary>
        /// <c>z W_O^h</c> <c>[rows, d_model]</c>: what head <paramref name="head"/> writes to the residual stream from its
        /// <c>z</c>, into <paramref name="residual"/> when given.
        /// </summary>
        public Tensor Out(Tensor z, HeadId head, Tensor? residual = null)
        {
            residual ??= Zeros();
            Gemm.MatMul(z, Weights.Blocks[head.Layer].W_O[head.Head], residual);
            return residual;
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

            var (values, z, written) = (HeadZeros(), HeadZeros(), Zeros());
            for (var l = 0; l < c.NLayers; l++)
            {
                // Orders above l are still zero at layer l's input; from the highest down, so each reads its input.
                for (var k = l; k >= 0; k--)
                {
                    var normalized = NormalizeForAttention(byOrder[k], l);
                    for (var h = 0; h < c.NHeads; h++)
                    {
                        var head = new HeadId(l, h);
                        Accumulate(byOrder[k + 1], Out(Mix(normalized, head, z, values), head, written));
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
