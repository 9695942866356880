using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>What a part of a head's query or key input is (<see cref="QkSource"/>).</summary>
public enum QkSourceKind
{
    /// <summary>The token embedding.</summary>
    Embed,

    /// <summary>The positional embedding (in the residual stream, or added to queries and keys for shortformer models).</summary>
    PosEmbed,

    /// <summary>An earlier head's output (TransformerLens's <c>hook_result</c>, its value bias included).</summary>
    Head,

    /// <summary>An earlier layer's <c>b_O</c>.</summary>
    AttnBias,

    /// <summary>An earlier layer's MLP output.</summary>
    Mlp,

    /// <summary>The head's own constant: <c>ln1.b</c> through <c>W_Q</c> (or <c>W_K</c>) plus <c>b_Q</c> (or <c>b_K</c>).</summary>
    Bias,
}

/// <summary>One part of a head's query or key input (<see cref="QkDecomposition"/>).</summary>
/// <param name="Kind">What wrote it.</param>
/// <param name="Layer">The layer of a head, an attention bias or an MLP; −1 otherwise.</param>
/// <param name="Head">The head's index within its layer; −1 unless <paramref name="Kind"/> is <see cref="QkSourceKind.Head"/>.</param>
public readonly record struct QkSource(QkSourceKind Kind, int Layer = -1, int Head = -1)
{
    /// <summary>The token embedding.</summary>
    public static QkSource Embed => new(QkSourceKind.Embed);

    /// <summary>The positional embedding.</summary>
    public static QkSource PosEmbed => new(QkSourceKind.PosEmbed);

    /// <summary>The head's own constant.</summary>
    public static QkSource Bias => new(QkSourceKind.Bias);

    /// <summary>An earlier head's output.</summary>
    public static QkSource Of(HeadId head) => new(QkSourceKind.Head, head.Layer, head.Head);

    /// <summary>Whether the part comes straight from the embeddings (token or position).</summary>
    public bool IsEmbedding => Kind is QkSourceKind.Embed or QkSourceKind.PosEmbed;

    /// <summary><c>embed</c>, <c>pos_embed</c>, <c>0.3</c> (a head), <c>b0</c> (a layer's <c>b_O</c>), <c>mlp0</c>, <c>bias</c>.</summary>
    public override string ToString() => Kind switch
    {
        QkSourceKind.Embed => "embed",
        QkSourceKind.PosEmbed => "pos_embed",
        QkSourceKind.Head => $"{Layer}.{Head}",
        QkSourceKind.AttnBias => $"b{Layer}",
        QkSourceKind.Mlp => $"mlp{Layer}",
        _ => "bias",
    };
}

/// <summary>
/// The QK side of path expansion (docs/math.md, "The QK side"): one head's attention scores, on some tokens, as a sum
/// of bilinear terms <c>q_a · k_b / √d_head</c>, one per pair of parts (<see cref="QkSource"/>) of its query and key
/// inputs, with the head's LayerNorm scale frozen at its value in the real forward pass. The parts are what wrote the
/// residual stream before the head's layer — the embeddings, each earlier head, each earlier <c>b_O</c> and MLP — and
/// the head's constant. Grouped as the paper groups them: <see cref="Direct"/> (both sides from the embeddings),
/// <see cref="QComposition"/> (queries from an earlier head, keys from the embeddings), <see cref="KComposition"/>
/// (the reverse), <see cref="Cross"/> (both from earlier heads) and <see cref="Other"/> (any pair with a constant or an
/// MLP). The groups, like all terms, sum to <see cref="Scores"/>.
/// </summary>
/// <remarks>
/// <see cref="HeadCircuits.QkExpansion"/> is the same expansion read off the weights alone, as token-by-token matrices,
/// for attention-only models without LayerNorm; this one is exact for every architecture, on the given tokens.
/// </remarks>
public sealed class QkDecomposition
{
    private readonly Dictionary<QkSource, (Tensor Query, Tensor Key)> _parts;
    private readonly int _batch;
    private readonly int _positions;
    private readonly int _dHead;

    private QkDecomposition(HeadId head, Dictionary<QkSource, (Tensor Query, Tensor Key)> parts, Tensor scores, int batch, int positions, int dHead)
    {
        Head = head;
        _parts = parts;
        Scores = scores;
        _batch = batch;
        _positions = positions;
        _dHead = dHead;
        Sources = [.. parts.Keys];
        Tensor Sum(Func<QkSource, bool> which, bool query) =>
            Add([.. parts.Where(p => which(p.Key)).Select(p => query ? p.Value.Query : p.Value.Key)], batch * positions, dHead);
        var (qEmbed, kEmbed) = (Sum(s => s.IsEmbedding, true), Sum(s => s.IsEmbedding, false));
        var (qHead, kHead) = (Sum(s => s.Kind == QkSourceKind.Head, true), Sum(s => s.Kind == QkSourceKind.Head, false));
        var (qOther, kOther) = (Sum(IsOther, true), Sum(IsOther, false));
        Direct = Bilinear(qEmbed, kEmbed);
        QComposition = Bilinear(qHead, kEmbed);
        KComposition = Bilinear(qEmbed, kHead);
        Cross = Bilinear(qHead, kHead);
        Other = Bilinear(qOther, Add([kEmbed, kHead, kOther], batch * positions, dHead));
        var rest = Bilinear(Add([qEmbed, qHead], batch * positions, dHead), kOther);
        TensorPrimitives.Add(Other.Span, rest.Span, Other.Span);

        static bool IsOther(QkSource s) => !s.IsEmbedding && s.Kind != QkSourceKind.Head;
    }

    /// <summary>The head whose scores are expanded.</summary>
    public HeadId Head { get; }

    /// <summary>The parts of the query and key inputs, in residual-stream order: embeddings, then each earlier layer's heads, <c>b_O</c> and MLP, then the head's constant.</summary>
    public IReadOnlyList<QkSource> Sources { get; }

    /// <summary>The model's attention scores <c>[batch, query pos, key pos]</c> (TransformerLens's <c>hook_attn_scores</c>); masked entries (key after query) are 0.</summary>
    public Tensor Scores { get; }

    /// <summary>Both sides from the embeddings <c>[batch, q, k]</c>: the paper's direct QK term.</summary>
    public Tensor Direct { get; }

    /// <summary>Queries from earlier heads, keys from the embeddings <c>[batch, q, k]</c>.</summary>
    public Tensor QComposition { get; }

    /// <summary>Keys from earlier heads, queries from the embeddings <c>[batch, q, k]</c>.</summary>
    public Tensor KComposition { get; }

    /// <summary>Both sides from earlier heads <c>[batch, q, k]</c>.</summary>
    public Tensor Cross { get; }

    /// <summary>Every pair with a constant (<c>b_O</c>, the head's bias) or an MLP output on either side <c>[batch, q, k]</c>.</summary>
    public Tensor Other { get; }

    /// <summary>
    /// Expands the attention scores of <paramref name="head"/> on <paramref name="tokens"/> (the weights as stored: no
    /// weight processing is needed).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="head"/> is outside the model.</exception>
    /// <exception cref="ArgumentException">The tokens are empty, ragged, too long, or outside the vocabulary.</exception>
    public static QkDecomposition Compute(TransformerWeights weights, int[][] tokens, HeadId head)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        var config = weights.Config;
        if (head.Layer >= config.NLayers || head.Head >= config.NHeads)
        {
            throw new ArgumentOutOfRangeException(nameof(head), $"Head {head} is outside the model ({config.NLayers} layers × {config.NHeads} heads).");
        }

        var layer = head.Layer;
        var pass = new HookedTransformer(weights).Begin(tokens, cacheNames: name =>
            name is HookNames.Embed or HookNames.PosEmbed || name == HookNames.ResidPre(layer) || name == HookNames.AttnScores(layer)
            || name.EndsWith("attn.hook_result", StringComparison.Ordinal) || name.EndsWith("hook_mlp_out", StringComparison.Ordinal));
        for (var l = 0; l <= layer; l++)
        {
            pass.Block(l);
        }

        var cache = pass.Cache;
        int batch = tokens.Length, n = tokens[0].Length, dm = config.DModel, dh = config.DHead;
        var block = weights.Blocks[layer];
        var (wq, wk) = (block.W_Q[head.Head], block.W_K[head.Head]);
        var scales = FrozenLayerNorm.InverseScales(config, cache[HookNames.ResidPre(layer)]);

        var parts = new Dictionary<QkSource, (Tensor Query, Tensor Key)>();
        void AddResidual(QkSource source, Tensor residual)
        {
            var x = FrozenLayerNorm.Apply(config, residual.Reshape(batch * n, dm), scales, block.Ln1W).Reshape(batch * n, dm);
            parts[source] = (Gemm.MatMul(x, wq), Gemm.MatMul(x, wk));
        }

        AddResidual(QkSource.Embed, cache[HookNames.Embed]);
        if (config.IsShortformer)
        {
            // Shortformer positions are added to the queries' and keys' inputs after ln1, so they are not normalised.
            var positions = cache[HookNames.PosEmbed].Reshape(batch * n, dm);
            parts[QkSource.PosEmbed] = (Gemm.MatMul(positions, wq), Gemm.MatMul(positions, wk));
        }
        else
        {
            AddResidual(QkSource.PosEmbed, cache[HookNames.PosEmbed]);
        }

        for (var l = 0; l < layer; l++)
        {
            var result = cache[HookNames.Result(l)];
            for (var h = 0; h < config.NHeads; h++)
            {
                AddResidual(QkSource.Of(new HeadId(l, h)), result.Select(2, h));
            }

            AddResidual(new QkSource(QkSourceKind.AttnBias, l), Broadcast(weights.Blocks[l].b_O, batch * n));
            if (config.HasMlp)
            {
                AddResidual(new QkSource(QkSourceKind.Mlp, l), cache[HookNames.MlpOut(l)]);
            }
        }

        parts[QkSource.Bias] = (Constant(block.Ln1B, wq, block.b_Q[head.Head], batch * n), Constant(block.Ln1B, wk, block.b_K[head.Head], batch * n));

        var all = cache[HookNames.AttnScores(layer)].Select(1, head.Head);
        var scores = new Tensor(batch, n, n);
        for (var row = 0; row < batch * n; row++)
        {
            var q = row % n;
            all.Span.Slice(row * n, q + 1).CopyTo(scores.Span.Slice(row * n, q + 1));
        }

        return new QkDecomposition(head, parts, scores, batch, n, dh);
    }

    /// <summary>The term of one query part and one key part, <c>q_a · k_b / √d_head</c> <c>[batch, q, k]</c> (masked entries 0).</summary>
    /// <exception cref="ArgumentException">A source is not one of <see cref="Sources"/>.</exception>
    public Tensor Term(QkSource query, QkSource key) => Bilinear(Part(query).Query, Part(key).Key);

    private (Tensor Query, Tensor Key) Part(QkSource source) => _parts.TryGetValue(source, out var part)
        ? part
        : throw new ArgumentException(
            $"Head {Head}'s inputs have no part '{source}'; they have {string.Join(", ", Sources)}.", nameof(source));

    private Tensor Bilinear(Tensor queries, Tensor keys)
    {
        int n = _positions, dh = _dHead;
        var result = new Tensor(_batch, n, n);
        var scale = 1f / MathF.Sqrt(dh);
        for (var b = 0; b < _batch; b++)
        {
            var q = new Tensor(queries.Memory.Slice(b * n * dh, n * dh), n, dh);
            var k = new Tensor(keys.Memory.Slice(b * n * dh, n * dh), n, dh);
            var block = result[b];
            Gemm.MatMul(q, k, block, transB: true);
            var span = block.Span;
            for (var i = 0; i < n; i++)
            {
                var row = span.Slice(i * n, n);
                TensorPrimitives.Multiply(row[..(i + 1)], scale, row[..(i + 1)]);
                row[(i + 1)..].Clear();
            }
        }

        return result;
    }

    private static Tensor Add(IReadOnlyList<Tensor> tensors, int rows, int width)
    {
        var sum = new Tensor(rows, width);
        foreach (var t in tensors)
        {
            TensorPrimitives.Add(sum.Span, t.Span, sum.Span);
        }

        return sum;
    }

    private static Tensor Broadcast(Tensor vector, int rows)
    {
        var result = new Tensor(rows, vector.Length);
        for (var row = 0; row < rows; row++)
        {
            vector.Span.CopyTo(result.Span.Slice(row * vector.Length, vector.Length));
        }

        return result;
    }

    /// <summary><c>ln1.b · W + b</c> (just <c>b</c> without a LayerNorm bias) at each of <paramref name="rows"/> positions.</summary>
    private static Tensor Constant(Tensor? lnBias, Tensor w, Tensor bias, int rows)
    {
        var constant = bias.Clone().Reshape(1, bias.Length);
        if (lnBias is not null)
        {
            Gemm.MatMul(lnBias.Reshape(1, lnBias.Length), w, constant, beta: 1f);
        }

        return Broadcast(constant, rows);
    }
}
