using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// The residual stream of one cached forward pass on some tokens, read as TransformerLens users read it (docs/math.md,
/// "Residual stream, logit lens and direct logit attribution"): decomposed into what each layer wrote
/// (<see cref="Decompose"/>, TL's <c>decompose_resid</c>), accumulated layer by layer (<see cref="Accumulated"/>, TL's
/// <c>accumulated_resid</c>) and read through the unembedding (<see cref="LogitLens"/>), and attributed to each head,
/// MLP and embedding through the frozen final LayerNorm (<see cref="Attribute()"/>, TL's <c>stack_head_results</c> +
/// <c>apply_ln_to_stack</c> + <c>logit_attrs</c>). Works on the weights as stored (no weight processing).
/// </summary>
/// <remarks>
/// TL's <c>apply_ln_to_stack</c> centres a stack and divides it by the cached scale of the final LayerNorm, and leaves
/// <c>ln_final.w</c> and <c>ln_final.b</c> to weight processing (which folds them into <c>W_U</c> and <c>b_U</c>); here
/// <c>w</c> is applied with the frozen scale and <c>b_U + b_final W_U</c> is a constant, which gives TL's numbers on
/// the processed model from the unprocessed one.
/// </remarks>
public sealed class ResidualDecomposition
{
    private const string OneToken = "Sequences of one token predict nothing: the logit lens needs at least two.";

    private readonly TransformerWeights _weights;
    private readonly ActivationCache _cache;
    private readonly Tensor _finalResidual;
    private readonly float[] _finalInverseScale;
    private readonly Lazy<Tensor> _logits;

    private ResidualDecomposition(TransformerWeights weights, int[][] tokens, ForwardPass pass)
    {
        _weights = weights;
        Tokens = tokens;
        _cache = pass.Cache;
        _finalResidual = pass.Residual;
        _finalInverseScale = FrozenLayerNorm.InverseScales(weights.Config, _finalResidual);
        _logits = new Lazy<Tensor>(pass.Unembed);
    }

    /// <summary>The tokens <c>[batch][pos]</c>.</summary>
    public int[][] Tokens { get; }

    /// <summary>The model's logits <c>[batch, pos, d_vocab]</c> from the forward pass, unembedded when first read.</summary>
    public Tensor Logits => _logits.Value;

    private ModelConfig Config => _weights.Config;

    private int Batch => Tokens.Length;

    private int Positions => Tokens[0].Length;

    /// <summary>Runs <paramref name="weights"/> on <paramref name="tokens"/> once, caching what the analyses read.</summary>
    /// <exception cref="ArgumentException">The tokens are empty, ragged, too long, or outside the vocabulary.</exception>
    public static ResidualDecomposition Compute(TransformerWeights weights, int[][] tokens) => Compute(weights, tokens, cachePatterns: false);

    /// <summary>
    /// As <see cref="Compute(TransformerWeights, int[][])"/>; with <paramref name="cachePatterns"/> the same pass also
    /// keeps every layer's attention patterns, for <see cref="Pattern"/>.
    /// </summary>
    internal static ResidualDecomposition Compute(TransformerWeights weights, int[][] tokens, bool cachePatterns) =>
        Compute(weights, tokens, name =>
            name is HookNames.Embed or HookNames.PosEmbed
            || name.EndsWith("hook_resid_pre", StringComparison.Ordinal) || name.EndsWith("hook_resid_mid", StringComparison.Ordinal)
            || name.EndsWith("hook_attn_out", StringComparison.Ordinal) || name.EndsWith("hook_mlp_out", StringComparison.Ordinal)
            || name.EndsWith("attn.hook_result", StringComparison.Ordinal)
            || (cachePatterns && name.EndsWith("attn.hook_pattern", StringComparison.Ordinal)));

    /// <summary>
    /// The logit lens's mean losses (<see cref="LogitLensMeans(bool, bool)"/>) of <paramref name="weights"/> on
    /// <paramref name="tokens"/>, from a forward pass that keeps only the accumulated residual streams: neither the
    /// model's logits nor any lens layer's are made, so memory follows <c>layers × positions × d_model</c>, not the
    /// vocabulary.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are empty, ragged, too long, or outside the vocabulary.</exception>
    /// <exception cref="InvalidOperationException">The sequences have one token, so nothing is predicted.</exception>
    /// <exception cref="NonFiniteLogitException">A lens layer has a NaN or infinite logit that makes a loss not finite.</exception>
    public static IReadOnlyList<LensMean> LogitLensMeans(TransformerWeights weights, int[][] tokens, bool includeMid = false, bool includeBias = true)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        return Compute(weights, tokens, name => name.EndsWith("hook_resid_pre", StringComparison.Ordinal)
                || (includeMid && name.EndsWith("hook_resid_mid", StringComparison.Ordinal)))
            .LogitLensMeans(includeMid, includeBias);
    }

    /// <summary>Runs every block of <paramref name="weights"/> on <paramref name="tokens"/>, caching <paramref name="cacheNames"/>.</summary>
    private static ResidualDecomposition Compute(TransformerWeights weights, int[][] tokens, Func<string, bool> cacheNames)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        var pass = new HookedTransformer(weights).Begin(tokens, cacheNames: cacheNames);
        for (var l = 0; l < weights.Config.NLayers; l++)
        {
            pass.Block(l);
        }

        return new ResidualDecomposition(weights, [.. tokens.Select(t => t.ToArray())], pass);
    }

    /// <summary>
    /// Layer <paramref name="layer"/>'s attention patterns <c>[batch, n_heads, query_pos, key_pos]</c> from this pass;
    /// only when it was computed with <c>cachePatterns</c>.
    /// </summary>
    internal Tensor Pattern(int layer) => _cache.Pattern(layer);

    /// <summary>
    /// The residual stream entering block <paramref name="layer"/> (the final one, before <c>ln_final</c>, when null or
    /// <c>n_layers</c>) as what wrote it, each <c>[batch, pos, d_model]</c>: <c>embed</c>, <c>pos_embed</c> (standard
    /// positions only: shortformer positions never enter the residual stream), then <c>{l}_attn_out</c> and
    /// <c>{l}_mlp_out</c> (with MLPs) for each earlier layer. They sum to <c>resid_pre</c> of that layer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is outside <c>0 … n_layers</c>.</exception>
    public IReadOnlyList<ResidualComponent> Decompose(int? layer = null)
    {
        var upTo = CheckLayer(layer);
        var components = new List<ResidualComponent> { new("embed", _cache[HookNames.Embed]) };
        if (!Config.IsShortformer)
        {
            components.Add(new("pos_embed", _cache[HookNames.PosEmbed]));
        }

        for (var l = 0; l < upTo; l++)
        {
            components.Add(new($"{l}_attn_out", _cache[HookNames.AttnOut(l)]));
            if (Config.HasMlp)
            {
                components.Add(new($"{l}_mlp_out", _cache[HookNames.MlpOut(l)]));
            }
        }

        return components;
    }

    /// <summary>
    /// The residual stream as it accumulates, each <c>[batch, pos, d_model]</c>: <c>{l}_pre</c> for every layer up to
    /// and including <paramref name="layer"/> (all of them when null or <c>n_layers</c>, then <c>final_post</c>, the
    /// residual stream entering <c>ln_final</c>); with <paramref name="includeMid"/> and MLPs, <c>{l}_mid</c> after
    /// each <c>{l}_pre</c> before <paramref name="layer"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is outside <c>0 … n_layers</c>.</exception>
    public IReadOnlyList<ResidualComponent> Accumulated(int? layer = null, bool includeMid = false)
    {
        var upTo = CheckLayer(layer);
        var components = new List<ResidualComponent>();
        for (var l = 0; l <= upTo; l++)
        {
            if (l == Config.NLayers)
            {
                components.Add(new("final_post", _finalResidual));
                break;
            }

            components.Add(new($"{l}_pre", _cache[HookNames.ResidPre(l)]));
            if (includeMid && Config.HasMlp && l < upTo)
            {
                components.Add(new($"{l}_mid", _cache[HookNames.ResidMid(l)]));
            }
        }

        return components;
    }

    /// <summary>
    /// <c>N_f(r) = centre(r) / σ_f ⊙ w_final</c> of a residual contribution <c>[batch, pos, d_model]</c>, with the final
    /// LayerNorm's scale <c>σ_f</c> frozen at its value on the final residual stream (TL's <c>apply_ln_to_stack</c>
    /// with the final layer, plus <c>w</c>); the identity without LayerNorm.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="residual"/> is not <c>[batch, pos, d_model]</c>.</exception>
    public Tensor ApplyFinalLayerNorm(Tensor residual)
    {
        ArgumentNullException.ThrowIfNull(residual);
        if (!residual.Shape.SequenceEqual([Batch, Positions, Config.DModel]))
        {
            throw new ArgumentException(
                $"A residual contribution must be [{Batch}, {Positions}, {Config.DModel}], not {Tensor.FormatShape(residual.Shape)}.", nameof(residual));
        }

        return FrozenLayerNorm.Apply(Config, residual, _finalInverseScale, _weights.LnFinalW).Reshape(Batch, Positions, Config.DModel);
    }

    /// <summary>
    /// The logit lens: each <see cref="Accumulated"/> residual stream (with the <c>resid_mid</c>'s when
    /// <paramref name="includeMid"/>) read as logits, <c>N(r) W_U</c>, plus <c>b_U + b_final W_U</c> when
    /// <paramref name="includeBias"/>, and the loss of the next token under them. <c>N</c> freezes the final scale as
    /// TL's stacks do, or, with <paramref name="recomputeScale"/>, is <c>ln_final</c> on each residual stream itself.
    /// Either way the last layer (<c>final_post</c>, with the bias) is the model's logits.
    /// </summary>
    /// <exception cref="InvalidOperationException">The sequences have one token, so nothing is predicted.</exception>
    public IReadOnlyList<LensLayer> LogitLens(bool includeMid = false, bool includeBias = true, bool recomputeScale = false)
    {
        if (Positions < 2)
        {
            throw new InvalidOperationException(OneToken);
        }

        var constant = includeBias ? FrozenLayerNorm.UnembedConstant(_weights) : null;
        var layers = new List<LensLayer>();
        foreach (var (label, residual) in Accumulated(includeMid: includeMid))
        {
            var logits = Gemm.MatMul(LensInput(residual, recomputeScale).Reshape(Batch * Positions, Config.DModel), _weights.W_U);
            if (constant is not null)
            {
                var span = logits.Span;
                for (var row = 0; row < Batch * Positions; row++)
                {
                    TensorPrimitives.Add(span.Slice(row * Config.DVocab, Config.DVocab), constant.Span,
                        span.Slice(row * Config.DVocab, Config.DVocab));
                }
            }

            logits = logits.Reshape(Batch, Positions, Config.DVocab);
            layers.Add(new LensLayer(label, logits, Losses.PerTokenCrossEntropy(logits, Tokens)));
        }

        return layers;
    }

    /// <summary>
    /// The logit lens's mean losses: for each <see cref="Accumulated"/> residual stream, the <see cref="LensLayer.MeanLoss"/>
    /// that <see cref="LogitLens"/> gives it with the frozen final scale and with its own, without any logits tensor.
    /// Every stream's rows through the frozen final LayerNorm are stacked and unembedded a block of rows at a time by the
    /// fused next-token reduction, which reads <c>W_U</c> once per block rather than once per layer and scale; a row
    /// normalised by its own scale is the same row times <c>σ_f / σ</c>, so each product is reduced twice, as it is and
    /// rescaled.
    /// </summary>
    /// <exception cref="InvalidOperationException">The sequences have one token, so nothing is predicted.</exception>
    /// <exception cref="NonFiniteLogitException">
    /// A lens layer has a NaN or infinite logit that makes a loss not finite; <c>final_post</c> with the bias, the model's
    /// own logits, is reduced first, so an overflowing forward pass is named as <see cref="Losses"/> names it.
    /// </exception>
    public IReadOnlyList<LensMean> LogitLensMeans(bool includeMid = false, bool includeBias = true)
    {
        if (Positions < 2)
        {
            throw new InvalidOperationException(OneToken);
        }

        var bias = includeBias ? FrozenLayerNorm.UnembedConstant(_weights) : new Tensor(Config.DVocab);
        var streams = Accumulated(includeMid: includeMid);
        int[] order = [streams.Count - 1, .. Enumerable.Range(0, streams.Count - 1)];

        // Streams go to the reduction together until their rows fill a row block per core, so a short prompt is one call
        // (one pass over W_U) and a long batch stays a stream at a time.
        int rows = Batch * Positions, dm = Config.DModel, predicting = Batch * (Positions - 1);
        var result = new LensMean[streams.Count];
        for (var first = 0; first < order.Length;)
        {
            var count = Math.Clamp(Losses.RowBlock * Environment.ProcessorCount / predicting, 1, order.Length - first);
            var x = new Tensor(count * rows, dm);
            var rescale = Config.HasLayerNorm ? new float[count * rows] : null;
            for (var k = 0; k < count; k++)
            {
                var residual = streams[order[first + k]].Value;
                LensInput(residual, ownScale: false).Span.CopyTo(x.Span.Slice(k * rows * dm, rows * dm));
                if (rescale is not null)
                {
                    var own = FrozenLayerNorm.InverseScales(Config, residual);
                    for (var row = 0; row < rows; row++)
                    {
                        rescale[(k * rows) + row] = own[row] / _finalInverseScale[row];
                    }
                }
            }

            var means = Losses.StackedMeanLosses(x, count, Tokens, _weights.W_U, bias, rescale);
            for (var k = 0; k < count; k++)
            {
                var stream = order[first + k];
                result[stream] = new LensMean(streams[stream].Label, means[k], rescale is null ? means[k] : means[count + k]);
            }

            first += count;
        }

        return result;
    }

    /// <summary>
    /// What the logit lens unembeds of an accumulated residual stream <c>[batch, pos, d_model]</c>: the final LayerNorm's
    /// linear part with the scale frozen at the final stream's, or with <paramref name="ownScale"/> its own.
    /// </summary>
    private Tensor LensInput(Tensor residual, bool ownScale) =>
        FrozenLayerNorm.Apply(Config, residual, ownScale ? FrozenLayerNorm.InverseScales(Config, residual) : _finalInverseScale, _weights.LnFinalW);

    /// <summary>
    /// Direct logit attribution to the actual next token: at each predicting position <c>p &lt; n − 1</c>, each
    /// component's <c>N_f(r) · W_U[:, t_{p+1}]</c> (<see cref="LogitAttribution"/>, positions <c>0 … n−2</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The sequences have one token, so nothing is predicted.</exception>
    public LogitAttribution Attribute()
    {
        if (Positions < 2)
        {
            throw new InvalidOperationException("Sequences of one token predict nothing: attribution to the next token needs at least two.");
        }

        return Attribute(Positions - 1, (b, p) => (Tokens[b][p + 1], null));
    }

    /// <summary>
    /// Direct logit attribution to the logit difference of <paramref name="token"/> over <paramref name="other"/> at
    /// every position: each component's <c>N_f(r) · (W_U[:, token] − W_U[:, other])</c> (<see cref="LogitAttribution"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside the vocabulary.</exception>
    public LogitAttribution Attribute(int token, int other)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, Config.DVocab);
        ArgumentOutOfRangeException.ThrowIfNegative(other);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(other, Config.DVocab);
        return Attribute(Positions, (_, _) => (token, other));
    }

    /// <summary>
    /// Every component through the frozen final LayerNorm, dotted at positions <c>0 … positions − 1</c> with
    /// <c>W_U[:, a] − W_U[:, b]</c> (<c>W_U[:, a]</c> when <c>b</c> is null) for the tokens <paramref name="target"/>
    /// names at each (sequence, position).
    /// </summary>
    private LogitAttribution Attribute(int positions, Func<int, int, (int Token, int? Other)> target)
    {
        int dm = Config.DModel, n = Positions;
        var directions = new Tensor(Batch * n, dm);
        var constantVector = FrozenLayerNorm.UnembedConstant(_weights).Span;
        var constant = new Tensor(Batch, positions);
        var logit = new Tensor(Batch, positions);

        // W_U's columns, read without computing a deferred W_U whole (GPT-2's tied one is wte's transpose).
        var column = new float[dm];
        for (var b = 0; b < Batch; b++)
        {
            for (var p = 0; p < positions; p++)
            {
                var (a, o) = target(b, p);
                var hasOther = o is not null;
                var other = o ?? 0;
                var direction = directions[(b * n) + p].Span;
                DeferredMatrix.CopyColumns(_weights.W_U, a, 1, direction);
                if (hasOther)
                {
                    DeferredMatrix.CopyColumns(_weights.W_U, other, 1, column);
                    TensorPrimitives.Subtract(direction, column, direction);
                }

                constant[b, p] = constantVector[a] - (hasOther ? constantVector[other] : 0f);
                logit[b, p] = Logits[b, p, a] - (hasOther ? Logits[b, p, other] : 0f);
            }
        }

        Tensor Dot(Tensor residual)
        {
            var normalized = ApplyFinalLayerNorm(residual).Span;
            var result = new Tensor(Batch, positions);
            for (var b = 0; b < Batch; b++)
            {
                for (var p = 0; p < positions; p++)
                {
                    var row = (b * n) + p;
                    result[b, p] = TensorPrimitives.Dot(normalized.Slice(row * dm, dm), directions[row].Span);
                }
            }

            return result;
        }

        var heads = new Tensor(Config.NLayers, Config.NHeads, Batch, positions);
        var components = new List<ResidualComponent> { new("embed", Dot(_cache[HookNames.Embed])) };
        if (!Config.IsShortformer)
        {
            components.Add(new("pos_embed", Dot(_cache[HookNames.PosEmbed])));
        }

        for (var l = 0; l < Config.NLayers; l++)
        {
            var result = _cache[HookNames.Result(l)];
            for (var h = 0; h < Config.NHeads; h++)
            {
                Dot(result.Select(2, h)).Span.CopyTo(heads[l][h].Span);
            }

            var bias = new Tensor(Batch, n, dm);
            for (var row = 0; row < Batch * n; row++)
            {
                _weights.Blocks[l].b_O.Span.CopyTo(bias.Span.Slice(row * dm, dm));
            }

            components.Add(new($"{l}_attn_bias", Dot(bias)));
            if (Config.HasMlp)
            {
                components.Add(new($"{l}_mlp_out", Dot(_cache[HookNames.MlpOut(l)])));
            }
        }

        return new LogitAttribution(heads, components, constant, logit);
    }

    private int CheckLayer(int? layer)
    {
        var upTo = layer ?? Config.NLayers;
        ArgumentOutOfRangeException.ThrowIfNegative(upTo, nameof(layer));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(upTo, Config.NLayers, nameof(layer));
        return upTo;
    }
}

/// <summary>One labelled part of the residual stream, or what it contributes to a logit.</summary>
/// <param name="Label">TransformerLens's label: <c>embed</c>, <c>pos_embed</c>, <c>0_attn_out</c>, <c>1_mlp_out</c>, <c>2_pre</c>, <c>final_post</c>, ….</param>
/// <param name="Value">The residual stream part <c>[batch, pos, d_model]</c>, or its attribution <c>[batch, pos]</c>.</param>
public sealed record ResidualComponent(string Label, Tensor Value);

/// <summary>One layer of the logit lens (<see cref="ResidualDecomposition.LogitLens"/>).</summary>
/// <param name="Label">The accumulated residual stream's label: <c>{l}_pre</c>, <c>{l}_mid</c> or <c>final_post</c>.</param>
/// <param name="Logits">Its logits <c>[batch, pos, d_vocab]</c>.</param>
/// <param name="Loss">The next-token cross-entropy under them at each predicting position <c>[batch, pos − 1]</c>, natural log: minus the log-probability of the correct next token.</param>
public sealed record LensLayer(string Label, Tensor Logits, Tensor Loss)
{
    /// <summary>The mean of <see cref="Loss"/>: minus the mean log-probability of the correct next token.</summary>
    public double MeanLoss
    {
        get
        {
            double sum = 0;
            foreach (var l in Loss.Span)
            {
                sum += l;
            }

            return sum / Loss.Length;
        }
    }
}

/// <summary>One layer of the logit lens reduced to its mean losses (<see cref="ResidualDecomposition.LogitLensMeans(bool, bool)"/>).</summary>
/// <param name="Label">The accumulated residual stream's label: <c>{l}_pre</c>, <c>{l}_mid</c> or <c>final_post</c>.</param>
/// <param name="MeanLoss">Minus the mean log-probability of the correct next token with the final LayerNorm's scale frozen at the final stream's.</param>
/// <param name="MeanLossOwnScale">The same with the stream normalised by its own scale (<c>ln_final</c> itself).</param>
public sealed record LensMean(string Label, double MeanLoss, double MeanLossOwnScale);

/// <summary>
/// Direct logit attribution (<see cref="ResidualDecomposition.Attribute()"/>): what every component of the final
/// residual stream adds, through the frozen final LayerNorm, to one logit (or logit difference) at each (sequence,
/// position). The heads, the other components and the constant sum to <see cref="Logit"/>, the model's own.
/// </summary>
/// <param name="Heads">Each head's result <c>[n_layers, n_heads, batch, pos]</c>.</param>
/// <param name="Components">
/// The rest, each <c>[batch, pos]</c>: <c>embed</c>, <c>pos_embed</c> (standard positions), then per layer
/// <c>{l}_attn_bias</c> (its <c>b_O</c>) and <c>{l}_mlp_out</c> (with MLPs).
/// </param>
/// <param name="Constant"><c>b_U + b_final W_U</c> read in the same direction <c>[batch, pos]</c>.</param>
/// <param name="Logit">The model's logit (difference) <c>[batch, pos]</c>.</param>
public sealed record LogitAttribution(Tensor Heads, IReadOnlyList<ResidualComponent> Components, Tensor Constant, Tensor Logit)
{
    /// <summary>
    /// Each head's attribution averaged over every sequence and position, or over every sequence at
    /// <paramref name="position"/> only, <c>[n_layers, n_heads]</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is not one of the attributed positions.</exception>
    public double[,] MeanByHead(int? position = null)
    {
        int layers = Heads.Dim(0), heads = Heads.Dim(1);
        var means = new double[layers, heads];
        for (var l = 0; l < layers; l++)
        {
            for (var h = 0; h < heads; h++)
            {
                means[l, h] = Mean(Heads[l][h], position);
            }
        }

        return means;
    }

    /// <summary>
    /// An attribution <c>[batch, pos]</c> (a head's, a component's, <see cref="Constant"/> or <see cref="Logit"/>)
    /// averaged over every sequence and position, or over every sequence at <paramref name="position"/> only; NaN when
    /// there is nothing to average.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is not one of the attributed positions.</exception>
    public static double Mean(Tensor values, int? position = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        int batch = values.Dim(0), positions = values.Dim(1);
        if (position is { } p)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(p, nameof(position));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(p, positions, nameof(position));
        }

        double sum = 0;
        var count = 0;
        var span = values.Span;
        for (var b = 0; b < batch; b++)
        {
            for (var q = position ?? 0; q < (position + 1 ?? positions); q++)
            {
                sum += span[(b * positions) + q];
                count++;
            }
        }

        return count == 0 ? double.NaN : sum / count;
    }
}
