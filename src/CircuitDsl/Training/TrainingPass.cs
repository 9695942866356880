using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Training;

/// <summary>
/// The forward pass of a transformer that keeps what its backward pass needs, and that backward pass: the
/// gradient of the summed next-token cross-entropy with respect to every weight.
/// </summary>
/// <remarks>
/// <para>
/// The forward pass is inference's: it runs <see cref="ForwardKernels"/>, the stages <see cref="ForwardPass"/> runs,
/// in the same order (LayerNorm, attention and MLP added to the residual stream, the final LayerNorm, the unembed),
/// so its logits are <see cref="HookedTransformer.Forward"/>'s up to the last bits, which depend on the GEMM backend
/// each runs its products on. It differs only in where the activations live: in buffers this pass allocates once per
/// batch shape and reuses, keeping LayerNorm's <c>x̂</c> and <c>1/σ</c> and every attention pattern, with no hook
/// points, and on the backend it is given. The conventions are TransformerLens's (docs/math.md).
/// </para>
/// <para>
/// Activations of a batch of <c>S</c> sequences of length <c>T</c> are stored as <c>N = S·T</c> rows in
/// <see cref="ForwardKernels"/>' layout: queries, keys, values and <c>z</c> are <c>[N, n_heads·d_head]</c>, so the
/// backward pass reads one head of one sequence as a strided block too.
/// </para>
/// <para>
/// An instance owns its activation buffers and reuses them across calls; it is not thread-safe. Run one
/// instance per worker thread, each with its own gradient container and, when several run side by side,
/// <see cref="Gemm.Serial"/> for its products.
/// </para>
/// </remarks>
public sealed class TrainingPass
{
    private readonly ModelConfig _config;
    private readonly int _d;
    private readonly int _heads;
    private readonly int _dHead;
    private readonly int _hd;
    private readonly int _dMlp;
    private readonly float _scale;
    private readonly LayerActivations[] _layers;
    private readonly float[] _sideBySide;
    private readonly IGemmBackend? _gemm;

    private TransformerWeights? _weights;
    private int[] _tokens = [];
    private int _seqs;
    private int _len;
    private int _rows;
    private int _allocatedRows = -1;
    private int _allocatedLength = -1;

    private float[] _x = [];
    private float[] _pos = [];
    private float[] _sublayerOut = [];
    private float[] _finalXhat = [];
    private float[] _finalRstd = [];
    private float[] _final = [];
    private float[] _probs = [];
    private float[] _dLogits = [];

    private float[] _dx = [];
    private float[] _dNormOut = [];
    private float[] _dQkIn = [];
    private float[] _dQ = [];
    private float[] _dK = [];
    private float[] _dV = [];
    private float[] _dZ = [];
    private float[] _dPattern = [];
    private float[] _dHidden = [];

    /// <summary>A pass for models of <paramref name="config"/>.</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="gemm">
    /// The backend of every product, or null for <see cref="Gemm.Backend"/> (read at each product). Passes that run
    /// side by side on several threads should take <see cref="Gemm.Serial"/>: each product split over every core again
    /// would only add the cost of splitting.
    /// </param>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public TrainingPass(ModelConfig config, IGemmBackend? gemm = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = config.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid model config: " + string.Join(" ", problems), nameof(config));
        }

        _config = config;
        _gemm = gemm;
        _d = config.DModel;
        _heads = config.NHeads;
        _dHead = config.DHead;
        _hd = config.NHeads * config.DHead;
        _dMlp = config.HasMlp ? config.DMlp ?? 0 : 0;
        _scale = config.NLayers > 0 ? 1f / MathF.Sqrt(config.DHead) : 0f;
        _sideBySide = new float[_d * _hd];
        _layers = new LayerActivations[config.NLayers];
        for (var l = 0; l < _layers.Length; l++)
        {
            _layers[l] = new LayerActivations();
        }
    }

    /// <summary>The number of predicted tokens in the last forward pass: <c>S·(T − 1)</c>.</summary>
    public int PredictedTokens => _seqs * (_len - 1);

    /// <summary>
    /// Runs the model on <paramref name="tokens"/> (equal-length sequences of at least 2 and at most
    /// <c>n_ctx</c> tokens), keeps the activations, and returns the <em>summed</em> cross-entropy (natural
    /// log) of predicting each next token; divide by <see cref="PredictedTokens"/> for the mean.
    /// </summary>
    /// <exception cref="ArgumentException">The weights do not match the config, or the tokens are malformed.</exception>
    public double Forward(TransformerWeights weights, IReadOnlyList<int[]> tokens)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!SameArchitecture(weights.Config))
        {
            throw new ArgumentException("The weights are for a different model config than this pass.", nameof(weights));
        }

        Prepare(tokens);
        _weights = weights;
        var n = _rows;
        var x = _x.AsSpan();
        ForwardKernels.Embed(weights, tokens, x, _pos);
        if (!_config.IsShortformer)
        {
            TensorPrimitives.Add(x, _pos, x);
        }

        for (var l = 0; l < _layers.Length; l++)
        {
            AttentionForward(weights.Blocks[l], _layers[l], x);
            if (_config.HasMlp)
            {
                MlpForward(weights.Blocks[l], _layers[l], x);
            }
        }

        NormForward(x, _final, _finalXhat, _finalRstd, weights.LnFinalW, weights.LnFinalB);
        var v = _config.DVocab;
        var probs = _probs.AsSpan();
        ForwardKernels.Linear(Backend, _final, weights.W_U.Span, weights.b_U.Span, probs);
        var loss = 0.0;
        for (var r = 0; r < n; r++)
        {
            var row = probs.Slice(r * v, v);
            if (r % _len != _len - 1)
            {
                var max = TensorPrimitives.Max(row);
                var sum = 0.0;
                foreach (var logit in row)
                {
                    sum += Math.Exp(logit - max);
                }

                loss += max + Math.Log(sum) - row[_tokens[r + 1]];
            }

            TensorPrimitives.SoftMax(row, row);
        }

        return loss;
    }

    /// <summary>
    /// Adds <paramref name="lossScale"/> times the gradient of the last <see cref="Forward"/>'s summed loss to
    /// <paramref name="gradient"/> (a container shaped like the weights, e.g.
    /// <see cref="TransformerWeights.Zeros"/>; it is accumulated into, not cleared). Pass
    /// <c>1 / PredictedTokens</c> for the gradient of the mean loss.
    /// </summary>
    /// <exception cref="InvalidOperationException">No forward pass has run.</exception>
    public void Backward(TransformerWeights gradient, float lossScale)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        var w = _weights ?? throw new InvalidOperationException("Backward needs a Forward first.");
        if (!SameArchitecture(gradient.Config))
        {
            throw new ArgumentException("The gradient container is for a different model config.", nameof(gradient));
        }

        int n = _rows, d = _d, v = _config.DVocab;
        var dLogits = _dLogits.AsSpan(0, n * v);
        _probs.AsSpan(0, n * v).CopyTo(dLogits);
        for (var r = 0; r < n; r++)
        {
            var row = dLogits.Slice(r * v, v);
            if (r % _len == _len - 1)
            {
                row.Clear();
                continue;
            }

            row[_tokens[r + 1]] -= 1f;
            TensorPrimitives.Multiply(row, lossScale, row);
        }

        Sgemm(true, false, d, v, n, 1f, _final, d, dLogits, v, 1f, gradient.W_U.Span, v);
        AddColumnSums(dLogits, v, gradient.b_U.Span);
        var dFinal = _dNormOut.AsSpan(0, n * d);
        Sgemm(false, true, n, d, v, 1f, dLogits, v, w.W_U.Span, v, 0f, dFinal, d);
        var dx = _dx.AsSpan(0, n * d);
        dx.Clear();
        NormBackward(dFinal, _finalXhat, _finalRstd, w.LnFinalW, gradient.LnFinalW, gradient.LnFinalB, dx);

        for (var l = _layers.Length - 1; l >= 0; l--)
        {
            if (_config.HasMlp)
            {
                MlpBackward(w.Blocks[l], gradient.Blocks[l], _layers[l], dx);
            }

            AttentionBackward(w.Blocks[l], gradient.Blocks[l], _layers[l], dx, gradient.W_pos.Span);
        }

        var gE = gradient.W_E.Span;
        var gPos = gradient.W_pos.Span;
        for (var r = 0; r < n; r++)
        {
            var row = dx.Slice(r * d, d);
            var e = gE.Slice(_tokens[r] * d, d);
            TensorPrimitives.Add(e, row, e);
            if (!_config.IsShortformer)
            {
                var p = gPos.Slice((r % _len) * d, d);
                TensorPrimitives.Add(p, row, p);
            }
        }
    }

    /// <summary>
    /// The attention patterns of layer <paramref name="layer"/> from the last forward pass, as a new tensor
    /// <c>[batch, n_heads, q_pos, k_pos]</c> (TransformerLens's <c>hook_pattern</c>).
    /// </summary>
    public Tensor Pattern(int layer)
    {
        if (_weights is null)
        {
            throw new InvalidOperationException("Pattern needs a Forward first.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, _layers.Length);
        var size = _seqs * _heads * _len * _len;
        return new Tensor(_layers[layer].Pattern.AsSpan(0, size).ToArray(), _seqs, _heads, _len, _len);
    }

    /// <summary>
    /// The mean next-token loss of <paramref name="tokens"/> and its gradient with respect to every weight,
    /// on one thread.
    /// </summary>
    public static (float Loss, TransformerWeights Gradient) LossAndGradient(TransformerWeights weights, IReadOnlyList<int[]> tokens)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var pass = new TrainingPass(weights.Config);
        var sum = pass.Forward(weights, tokens);
        var gradient = ZeroGradient(weights.Config);
        pass.Backward(gradient, 1f / pass.PredictedTokens);
        return ((float)(sum / pass.PredictedTokens), gradient);
    }

    /// <summary>A gradient container for <paramref name="config"/>: weights-shaped, every tensor zero.</summary>
    public static TransformerWeights ZeroGradient(ModelConfig config)
    {
        var gradient = TransformerWeights.Zeros(config);
        foreach (var (_, t) in gradient.ToStateDict())
        {
            t.Span.Clear();
        }

        return gradient;
    }

    /// <summary>This pass's backend: the one it was given, or <see cref="Gemm.Backend"/> at the time of asking.</summary>
    private IGemmBackend Backend => _gemm ?? Gemm.Backend;

    /// <summary>A product on this pass's backend (<see cref="IGemmBackend.Sgemm"/>, which checks the arguments).</summary>
    private void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc) =>
        Backend.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    private bool SameArchitecture(ModelConfig other) => other with { Seed = null } == _config with { Seed = null };

    private void Prepare(IReadOnlyList<int[]> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0)
        {
            throw new ArgumentException("The batch has no sequences.", nameof(tokens));
        }

        var len = tokens[0]?.Length ?? 0;
        if (len < 2 || len > _config.NCtx)
        {
            throw new ArgumentException(
                $"Sequence 0 has {len} tokens; training needs between 2 and n_ctx = {_config.NCtx}.", nameof(tokens));
        }

        var rows = tokens.Count * len;
        if (_tokens.Length != rows)
        {
            _tokens = new int[rows];
        }

        for (var s = 0; s < tokens.Count; s++)
        {
            var seq = tokens[s];
            if (seq is null || seq.Length != len)
            {
                throw new ArgumentException(
                    $"Sequence {s} has {seq?.Length ?? 0} tokens; sequence 0 has {len} (a batch needs equal lengths).", nameof(tokens));
            }

            for (var p = 0; p < len; p++)
            {
                if ((uint)seq[p] >= (uint)_config.DVocab)
                {
                    throw new ArgumentException(
                        $"Token {seq[p]} at sequence {s}, position {p} is outside the vocabulary (d_vocab = {_config.DVocab}).", nameof(tokens));
                }

                _tokens[(s * len) + p] = seq[p];
            }
        }

        _seqs = tokens.Count;
        _len = len;
        _rows = rows;
        if (rows != _allocatedRows || len != _allocatedLength)
        {
            Allocate(rows, len);
        }
    }

    private void Allocate(int rows, int len)
    {
        _allocatedRows = rows;
        _allocatedLength = len;
        int n = rows, d = _d;
        var norm = _config.HasLayerNorm ? n : 0;
        _x = new float[n * d];
        _pos = new float[n * d];
        _sublayerOut = new float[n * d];
        _finalXhat = new float[norm * d];
        _finalRstd = new float[norm];
        _final = new float[n * d];
        _probs = new float[n * _config.DVocab];
        _dLogits = new float[n * _config.DVocab];
        _dx = new float[n * d];
        _dNormOut = new float[n * d];
        _dQkIn = new float[n * d];
        _dQ = new float[n * _hd];
        _dK = new float[n * _hd];
        _dV = new float[n * _hd];
        _dZ = new float[n * _hd];
        _dPattern = new float[len * len];
        _dHidden = new float[n * _dMlp];
        foreach (var a in _layers)
        {
            a.Xhat1 = new float[norm * d];
            a.Rstd1 = new float[norm];
            a.AttnIn = new float[n * d];
            a.QkIn = _config.IsShortformer ? new float[n * d] : a.AttnIn;
            a.Q = new float[n * _hd];
            a.K = new float[n * _hd];
            a.V = new float[n * _hd];
            a.Z = new float[n * _hd];
            a.Pattern = new float[n * len * _heads];
            a.Xhat2 = new float[_dMlp == 0 ? 0 : norm * d];
            a.Rstd2 = new float[_dMlp == 0 ? 0 : norm];
            a.MlpIn = new float[_dMlp == 0 ? 0 : n * d];
            a.Pre = new float[n * _dMlp];
            a.Post = new float[n * _dMlp];
        }
    }

    private void AttentionForward(BlockWeights b, LayerActivations a, Span<float> x)
    {
        int dh = _dHead, hd = _hd, t = _len;
        NormForward(x, a.AttnIn, a.Xhat1, a.Rstd1, b.Ln1W, b.Ln1B);
        if (_config.IsShortformer)
        {
            TensorPrimitives.Add(a.AttnIn, _pos, a.QkIn);
        }

        var gemm = Backend;
        ForwardKernels.ProjectHeads(gemm, a.QkIn, b.W_Q, b.b_Q, a.Q);
        ForwardKernels.ProjectHeads(gemm, a.QkIn, b.W_K, b.b_K, a.K);
        ForwardKernels.ProjectHeads(gemm, a.AttnIn, b.W_V, b.b_V, a.V);
        for (var s = 0; s < _seqs; s++)
        {
            for (var h = 0; h < _heads; h++)
            {
                // The whole pattern is kept for the backward pass. A row block writes only the keys up to its last row;
                // the entries after them are never written, so they stay zero from allocation.
                var block = (s * t * hd) + (h * dh);
                var pattern = a.Pattern.AsSpan(((s * _heads) + h) * t * t, t * t);
                for (var r0 = 0; r0 < t; r0 += ForwardKernels.RowBlock)
                {
                    ForwardKernels.CausalAttentionRows(gemm, a.Q.AsSpan(block), a.K.AsSpan(block), a.V.AsSpan(block), a.Z.AsSpan(block),
                        hd, dh, r0, Math.Min(ForwardKernels.RowBlock, t - r0), pattern[(r0 * t)..], t);
                }
            }
        }

        ForwardKernels.Linear(gemm, a.Z, b.W_O.Span, b.b_O.Span, _sublayerOut);
        TensorPrimitives.Add(x, _sublayerOut, x);
    }

    private void AttentionBackward(BlockWeights b, BlockWeights g, LayerActivations a, Span<float> dx, Span<float> gPos)
    {
        int n = _rows, d = _d, dh = _dHead, hd = _hd, t = _len;
        AddColumnSums(dx, d, g.b_O.Span);
        Sgemm(true, false, hd, d, n, 1f, a.Z, hd, dx, d, 1f, g.W_O.Span, d);
        Sgemm(false, true, n, hd, d, 1f, dx, d, b.W_O.Span, d, 0f, _dZ, hd);
        var dP = _dPattern.AsSpan(0, t * t);
        for (var s = 0; s < _seqs; s++)
        {
            for (var h = 0; h < _heads; h++)
            {
                var block = (s * t * hd) + (h * dh);
                var pattern = a.Pattern.AsSpan(((s * _heads) + h) * t * t, t * t);
                Sgemm(false, true, t, t, dh, 1f, _dZ.AsSpan(block), hd, a.V.AsSpan(block), hd, 0f, dP, t);
                Sgemm(true, false, t, dh, t, 1f, pattern, t, _dZ.AsSpan(block), hd, 0f, _dV.AsSpan(block), hd);

                // Softmax backward, row by row: dS = P ⊙ (dP − Σ_k P·dP). Masked entries have P = 0.
                for (var i = 0; i < t; i++)
                {
                    var pRow = pattern.Slice(i * t, i + 1);
                    var dRow = dP.Slice(i * t, t);
                    var dot = TensorPrimitives.Dot(pRow, dRow[..(i + 1)]);
                    TensorPrimitives.Subtract(dRow[..(i + 1)], dot, dRow[..(i + 1)]);
                    TensorPrimitives.Multiply(dRow[..(i + 1)], pRow, dRow[..(i + 1)]);
                    dRow[(i + 1)..].Clear();
                }

                Sgemm(false, false, t, dh, t, _scale, dP, t, a.K.AsSpan(block), hd, 0f, _dQ.AsSpan(block), hd);
                Sgemm(true, false, t, dh, t, _scale, dP, t, a.Q.AsSpan(block), hd, 0f, _dK.AsSpan(block), hd);
            }
        }

        AddColumnSums(_dQ.AsSpan(0, n * hd), hd, g.b_Q.Span);
        AddColumnSums(_dK.AsSpan(0, n * hd), hd, g.b_K.Span);
        AddColumnSums(_dV.AsSpan(0, n * hd), hd, g.b_V.Span);
        var dQkIn = _dQkIn.AsSpan(0, n * d);
        var dAttnIn = _dNormOut.AsSpan(0, n * d);
        ProjectionBackward(a.QkIn, _dQ, b.W_Q, g.W_Q, dQkIn, 0f);
        ProjectionBackward(a.QkIn, _dK, b.W_K, g.W_K, dQkIn, 1f);
        ProjectionBackward(a.AttnIn, _dV, b.W_V, g.W_V, dAttnIn, 0f);

        if (_config.IsShortformer)
        {
            for (var r = 0; r < n; r++)
            {
                var p = gPos.Slice((r % t) * d, d);
                TensorPrimitives.Add(p, dQkIn.Slice(r * d, d), p);
            }
        }

        TensorPrimitives.Add(dAttnIn, dQkIn, dAttnIn);
        NormBackward(dAttnIn, a.Xhat1, a.Rstd1, b.Ln1W, g.Ln1W, g.Ln1B, dx);
    }

    /// <summary>
    /// The backward pass of <see cref="ForwardKernels.ProjectHeads"/> with the heads side by side, as the forward pass
    /// multiplies: adds <c>inputᵀ · dOut</c> to <paramref name="gradient"/> <c>[n_heads, d_model, d_head]</c> and sets
    /// <paramref name="dInput"/> to <c>dOut · Wᵀ + beta · dInput</c>, one product each rather than one per head.
    /// </summary>
    private void ProjectionBackward(
        ReadOnlySpan<float> input, ReadOnlySpan<float> dOut, Tensor weight, Tensor gradient, Span<float> dInput, float beta)
    {
        int n = _rows, d = _d, dh = _dHead, hd = _hd;
        var side = _sideBySide.AsSpan();
        Sgemm(true, false, d, hd, n, 1f, input, d, dOut, hd, 0f, side, hd);
        for (var h = 0; h < _heads; h++)
        {
            var g = gradient[h].Span;
            for (var i = 0; i < d; i++)
            {
                var row = g.Slice(i * dh, dh);
                TensorPrimitives.Add(row, side.Slice((i * hd) + (h * dh), dh), row);
            }
        }

        ForwardKernels.SideBySide(weight, side);
        Sgemm(false, true, n, d, hd, 1f, dOut, hd, side, hd, beta, dInput, d);
    }

    private void MlpForward(BlockWeights b, LayerActivations a, Span<float> x)
    {
        var gemm = Backend;
        NormForward(x, a.MlpIn, a.Xhat2, a.Rstd2, b.Ln2W, b.Ln2B);
        ForwardKernels.Linear(gemm, a.MlpIn, b.W_in!.Span, b.b_in!.Span, a.Pre);
        a.Pre.CopyTo(a.Post);
        Ops.Activation(a.Post, _config.ActFn!.Value);
        ForwardKernels.Linear(gemm, a.Post, b.W_out!.Span, b.b_out!.Span, _sublayerOut);
        TensorPrimitives.Add(x, _sublayerOut, x);
    }

    private void MlpBackward(BlockWeights b, BlockWeights g, LayerActivations a, Span<float> dx)
    {
        int n = _rows, d = _d, m = _dMlp;
        AddColumnSums(dx, d, g.b_out!.Span);
        Sgemm(true, false, m, d, n, 1f, a.Post, m, dx, d, 1f, g.W_out!.Span, d);
        var dHidden = _dHidden.AsSpan(0, n * m);
        Sgemm(false, true, n, m, d, 1f, dx, d, b.W_out!.Span, d, 0f, dHidden, m);
        Activations.MultiplyByDerivative(a.Pre.AsSpan(0, n * m), dHidden, _config.ActFn!.Value);
        AddColumnSums(dHidden, m, g.b_in!.Span);
        Sgemm(true, false, d, m, n, 1f, a.MlpIn, d, dHidden, m, 1f, g.W_in!.Span, m);
        var dMlpIn = _dNormOut.AsSpan(0, n * d);
        Sgemm(false, true, n, d, m, 1f, dHidden, m, b.W_in!.Span, m, 0f, dMlpIn, d);
        NormBackward(dMlpIn, a.Xhat2, a.Rstd2, b.Ln2W, g.Ln2W, g.Ln2B, dx);
    }

    /// <summary>
    /// The input <paramref name="y"/> of an attention layer, MLP or the unembed: <see cref="ForwardKernels.LayerNorm"/>,
    /// keeping <c>x̂</c> and <c>1/σ</c> for <see cref="NormBackward"/>; with no normalization a copy of <paramref name="x"/>,
    /// which is the residual stream and changes on.
    /// </summary>
    private void NormForward(ReadOnlySpan<float> x, Span<float> y, Span<float> xhat, Span<float> rstd, Tensor? w, Tensor? b)
    {
        if (_config.HasLayerNorm)
        {
            ForwardKernels.LayerNorm(x, y, _d, w, b, xhat, rstd);
        }
        else
        {
            x.CopyTo(y);
        }
    }

    /// <summary>
    /// Adds the input gradient of a normalization to <paramref name="dx"/> and its weight gradients to
    /// <paramref name="gw"/>, <paramref name="gb"/>: <c>dx += (g − mean(g) − x̂·mean(g·x̂)) / σ</c> with <c>g = dy·w</c>.
    /// </summary>
    private void NormBackward(Span<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> rstd, Tensor? w, Tensor? gw, Tensor? gb, Span<float> dx)
    {
        int n = _rows, d = _d;
        if (!_config.HasLayerNorm)
        {
            TensorPrimitives.Add(dx, dy[..(n * d)], dx);
            return;
        }

        for (var r = 0; r < n; r++)
        {
            var g = dy.Slice(r * d, d);
            var hr = xhat.Slice(r * d, d);
            if (w is not null)
            {
                TensorPrimitives.FusedMultiplyAdd(g, hr, gw!.Span, gw.Span);
                TensorPrimitives.Add(gb!.Span, g, gb.Span);
                TensorPrimitives.Multiply(g, w.Span, g);
            }

            var meanG = TensorPrimitives.Sum(g) / d;
            var meanGx = TensorPrimitives.Dot(g, hr) / d;
            var dr = dx.Slice(r * d, d);
            for (var i = 0; i < d; i++)
            {
                dr[i] += rstd[r] * (g[i] - meanG - (hr[i] * meanGx));
            }
        }
    }

    private void AddColumnSums(ReadOnlySpan<float> data, int cols, Span<float> sums)
    {
        for (var r = 0; r < _rows; r++)
        {
            TensorPrimitives.Add(sums, data.Slice(r * cols, cols), sums);
        }
    }

    private sealed class LayerActivations
    {
        public float[] Xhat1 { get; set; } = [];

        public float[] Rstd1 { get; set; } = [];

        public float[] AttnIn { get; set; } = [];

        public float[] QkIn { get; set; } = [];

        public float[] Q { get; set; } = [];

        public float[] K { get; set; } = [];

        public float[] V { get; set; } = [];

        public float[] Z { get; set; } = [];

        public float[] Pattern { get; set; } = [];

        public float[] Xhat2 { get; set; } = [];

        public float[] Rstd2 { get; set; } = [];

        public float[] MlpIn { get; set; } = [];

        public float[] Pre { get; set; } = [];

        public float[] Post { get; set; } = [];
    }
}
