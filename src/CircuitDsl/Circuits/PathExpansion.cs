using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>The kinds of path-expansion term.</summary>
public enum PathTermKind
{
    /// <summary>Embedding straight to the unembedding: <c>W_E · W_U</c> (with positions).</summary>
    Direct,

    /// <summary>Through one head: <c>A^h ⊗ (W_E · W_OV^h · W_U)</c>.</summary>
    Head,

    /// <summary>Through an earlier head and then a later one: <c>(A^{h2} A^{h1}) ⊗ (W_E · W_OV^{h1} · W_OV^{h2} · W_U)</c>.</summary>
    VirtualHead,
}

/// <summary>
/// The path expansion of an attention-only model without LayerNorm and with at most two layers (Elhage et al.
/// 2021): the logits are exactly the sum of a direct term, one term per head, one term per virtual head (a layer-0
/// head followed by a layer-1 head), and a constant bias term — when each term uses the model's actual attention
/// patterns on the tokens. Embeddings include the positional embedding (standard positions).
/// </summary>
public sealed class PathExpansion
{
    private readonly TransformerWeights _weights;
    private readonly HookedTransformer _model;
    private readonly Dictionary<PathTermId, PathTerm> _byId;

    private PathExpansion(TransformerWeights weights)
    {
        _weights = weights;
        _model = new HookedTransformer(weights);
        var heads = Ablation.AllHeads(weights.Config).ToList();
        var ids = new List<PathTermId> { PathTermId.Direct };
        ids.AddRange(heads.Select(PathTermId.Head));
        foreach (var later in heads.Where(h => h.Layer == 1))
        {
            ids.AddRange(heads.Where(h => h.Layer == 0).Select(earlier => PathTermId.Virtual(earlier, later)));
        }

        Terms = ids.Select(id => new PathTerm(this, id)).ToList();
        _byId = Terms.ToDictionary(term => term.Id);
    }

    /// <summary>The terms: direct, then every head, then every virtual head (named <c>L1H4_L0H7</c>, later head first).</summary>
    public IReadOnlyList<PathTerm> Terms { get; }

    /// <summary>The expansion of <paramref name="weights"/>.</summary>
    /// <exception cref="ArgumentException">The model has LayerNorm, MLPs, shortformer positions or more than two layers (<see cref="WhyUnsupported"/>).</exception>
    public static PathExpansion Create(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (WhyUnsupported(weights.Config) is { } why)
        {
            throw new ArgumentException(
                "The path expansion needs an attention-only model without LayerNorm and at most two layers: " + why + ".", nameof(weights));
        }

        return new PathExpansion(weights);
    }

    /// <summary>
    /// Why models of <paramref name="config"/> have no path expansion here, e.g. <c>it has MLPs; it has 3 layers (…)</c>;
    /// null when they have one (attention-only, no LayerNorm, standard positions, at most two layers).
    /// </summary>
    public static string? WhyUnsupported(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return PathExpansionSupport.WhyUnsupported(config.NLayers, config.AttnOnly, config.NormalizationType, config.IsShortformer);
    }

    /// <summary>The term <paramref name="id"/>: <c>Term(PathTermId.Virtual(new(0, 3), new(1, 2)))</c> is <c>L1H2_L0H3</c>.</summary>
    /// <exception cref="ArgumentException">The model has no such term (a head it does not have, or a virtual head not from layer 0 to layer 1).</exception>
    public PathTerm Term(PathTermId id) =>
        _byId.TryGetValue(id, out var term) ? term : throw new ArgumentException($"This model's path expansion has no term {id}.", nameof(id));

    /// <summary>
    /// The constant every position gets from the biases, <c>[d_vocab]</c>: <c>b_U + (c_0 + c_1 + Σ_{h2} c_0 W_OV^{h2}) W_U</c>
    /// with <c>c_l = b_O^l + Σ_h b_V^{l,h} W_O^{l,h}</c> (attention patterns sum to 1, so value biases pass as constants).
    /// </summary>
    public Tensor BiasContribution()
    {
        var c = _weights.Config;
        var layerConstants = new Tensor[c.NLayers];
        for (var l = 0; l < c.NLayers; l++)
        {
            var b = _weights.Blocks[l];
            var constant = b.b_O.Clone().Reshape(1, c.DModel);
            for (var h = 0; h < c.NHeads; h++)
            {
                Gemm.MatMul(b.b_V[h].Reshape(1, c.DHead), b.W_O[h], constant, beta: 1f);
            }

            layerConstants[l] = constant;
        }

        var residual = new Tensor(1, c.DModel);
        foreach (var constant in layerConstants)
        {
            Add(residual, constant);
        }

        if (c.NLayers == 2)
        {
            var b1 = _weights.Blocks[1];
            for (var h = 0; h < c.NHeads; h++)
            {
                var v = Gemm.MatMul(layerConstants[0], b1.W_V[h]);
                Gemm.MatMul(v, b1.W_O[h], residual, beta: 1f);
            }
        }

        var logits = _weights.b_U.Clone().Reshape(1, c.DVocab);
        Gemm.MatMul(residual, _weights.W_U, logits, beta: 1f);
        return logits.Reshape(c.DVocab);
    }

    /// <summary>A term's contribution to the logits <c>[batch, pos, d_vocab]</c>, using the model's patterns on <paramref name="tokens"/>.</summary>
    internal Tensor Contribution(PathTerm term, int[][] tokens)
    {
        var c = _weights.Config;
        var patterns = new Tensor[c.NLayers];
        if (term.Kind != PathTermKind.Direct)
        {
            var (_, cache) = _model.RunWithCache(tokens, n => n.EndsWith("hook_pattern", StringComparison.Ordinal));
            for (var l = 0; l < c.NLayers; l++)
            {
                patterns[l] = cache.Pattern(l);
            }
        }

        int batch = tokens.Length, pos = tokens[0].Length;
        var x = new Tensor(batch * pos, c.DModel);
        for (var b = 0; b < batch; b++)
        {
            for (var p = 0; p < pos; p++)
            {
                var row = x[(b * pos) + p].Span;
                _weights.W_E[tokens[b][p]].Span.CopyTo(row);
                var position = _weights.W_pos[p].Span;
                for (var m = 0; m < row.Length; m++)
                {
                    row[m] += position[m];
                }
            }
        }

        foreach (var head in term.Heads)
        {
            x = ThroughHead(x, patterns[head.Layer], head, batch, pos);
        }

        return Gemm.MatMul(x, _weights.W_U).Reshape(batch, pos, c.DVocab);
    }

    /// <summary><c>A^h · (x · W_V^h) · W_O^h</c> per sequence, without biases.</summary>
    private Tensor ThroughHead(Tensor x, Tensor pattern, HeadId head, int batch, int pos)
    {
        var b = _weights.Blocks[head.Layer];
        var v = Gemm.MatMul(x, b.W_V[head.Head]);
        var z = new Tensor(batch * pos, _weights.Config.DHead);
        var dHead = _weights.Config.DHead;
        for (var s = 0; s < batch; s++)
        {
            var a = pattern[s][head.Head];
            Gemm.Sgemm(false, false, pos, dHead, pos, 1f, a.Span, pos, v.Span[(s * pos * dHead)..], dHead,
                0f, z.Span[(s * pos * dHead)..], dHead);
        }

        return Gemm.MatMul(z, b.W_O[head.Head]);
    }

    private static void Add(Tensor target, Tensor source)
    {
        var t = target.Span;
        var s = source.Span;
        for (var i = 0; i < t.Length; i++)
        {
            t[i] += s[i];
        }
    }
}

/// <summary>One term of a <see cref="PathExpansion"/>.</summary>
public sealed class PathTerm
{
    private readonly PathExpansion _expansion;

    internal PathTerm(PathExpansion expansion, PathTermId id)
    {
        _expansion = expansion;
        Id = id;
    }

    /// <summary>Which term this is: direct, one head, or a virtual head.</summary>
    public PathTermId Id { get; }

    /// <summary>Direct, one head, or a virtual head.</summary>
    public PathTermKind Kind => Id.Kind;

    /// <summary><c>direct</c>, <c>L0H3</c>, or <c>L1H4_L0H7</c> (later head first) for a virtual head.</summary>
    public string Name => Id.ToString();

    /// <summary>The heads on the path, earliest first.</summary>
    public IReadOnlyList<HeadId> Heads => Id.Heads;

    /// <summary>The term's contribution to the logits <c>[batch, pos, d_vocab]</c>, with the model's actual patterns.</summary>
    public Tensor Contribution(int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return _expansion.Contribution(this, tokens);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// Which term of a path expansion: <see cref="Direct"/>, <see cref="Head"/> or <see cref="Virtual"/>, named as
/// the paper's figures name them (<c>direct</c>, <c>L0H1</c>, <c>L1H2_L0H3</c>, later head first).
/// </summary>
public readonly record struct PathTermId
{
    private readonly HeadId _first;
    private readonly HeadId _second;

    private PathTermId(PathTermKind kind, HeadId first, HeadId second)
    {
        Kind = kind;
        _first = first;
        _second = second;
    }

    /// <summary>The direct path <c>W_E W_U</c>.</summary>
    public static PathTermId Direct => default;

    /// <summary>Direct, one head, or a virtual head.</summary>
    public PathTermKind Kind { get; }

    /// <summary>The heads on the path, earliest first: none, one, or two.</summary>
    public IReadOnlyList<HeadId> Heads => Kind switch
    {
        PathTermKind.Direct => [],
        PathTermKind.Head => [_first],
        _ => [_first, _second],
    };

    /// <summary>The path through <paramref name="head"/>.</summary>
    public static PathTermId Head(HeadId head) => new(PathTermKind.Head, head, default);

    /// <summary>The virtual head: <paramref name="earlier"/>'s output read by <paramref name="later"/>'s values.</summary>
    /// <exception cref="ArgumentException"><paramref name="earlier"/> is not in an earlier layer than <paramref name="later"/>.</exception>
    public static PathTermId Virtual(HeadId earlier, HeadId later) => earlier.Layer < later.Layer
        ? new(PathTermKind.VirtualHead, earlier, later)
        : throw new ArgumentException($"A virtual head goes from an earlier layer to a later one; {earlier} is not before {later}.", nameof(earlier));

    /// <summary><c>direct</c>, <c>L0H3</c>, or <c>L1H4_L0H7</c> (later head first).</summary>
    public override string ToString() => Kind switch
    {
        PathTermKind.Direct => "direct",
        PathTermKind.Head => Name(_first),
        _ => Name(_second) + "_" + Name(_first),
    };

    private static string Name(HeadId head) => $"L{head.Layer}H{head.Head}";
}
