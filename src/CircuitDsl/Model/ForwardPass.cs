using System.Buffers;
using System.Numerics.Tensors;
using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>
/// Receives query rows <c>[firstRow, firstRow + rowCount)</c> of the attention pattern of <paramref name="head"/> on
/// sequence <paramref name="sequence"/> of the batch in block <paramref name="layer"/>: row <c>firstRow + i</c> starts at
/// <c>rows[i · stride]</c> and holds the keys <c>0 … firstRow + rowCount − 1</c>; the keys after those are zero and not
/// given. Called from several threads at once for different (sequence, head) pairs, and for one pair's row blocks in
/// order on one thread. The rows are valid only during the call.
/// </summary>
internal delegate void PatternRows(int layer, int sequence, int head, int firstRow, int rowCount, ReadOnlySpan<float> rows, int stride);

/// <summary>
/// One forward pass in progress: the residual stream of a batch, advanced a block at a time, with TransformerLens's
/// hook points between the stages; <see cref="HookedTransformer"/> and generated models both drive it. The stages are
/// <see cref="ForwardKernels"/>, the only implementation of the forward pass (docs/math.md, "The forward pass"): <see cref="Training.TrainingPass"/>
/// runs the same kernels in the same order on buffers it reuses, keeping what its backward pass needs, so training
/// and inference compute the same logits.
/// </summary>
/// <remarks>
/// Every stage writes a fresh tensor, so a cached activation is never changed by later stages; hooks run on
/// an activation before it is cached and before the next stage reads it. A pass given a <see cref="TensorArena"/> (a
/// patching sweep's batches, which keep nothing) takes its tensors from there instead of the garbage collector.
/// </remarks>
public sealed class ForwardPass
{
    private readonly TransformerWeights _weights;
    private readonly HookSet? _hooks;
    private readonly Func<string, bool>? _cacheNames;
    /// <summary>The position embeddings at every row, which shortformer queries and keys read (null when nothing reads them).</summary>
    private readonly Tensor? _posEmbed;
    private readonly PatternRows? _patternRows;
    private readonly TensorArena? _arena;
    /// <summary>The arena's <see cref="TensorArena.Taken"/> once the pass is set up: what blocks take comes after it.</summary>
    private readonly int _arenaMark;
    private int _nextLayer;
    private bool _stoppedAtPatterns;

    /// <summary>Starts a pass over <paramref name="tokens"/>.</summary>
    /// <param name="weights">The parameters.</param>
    /// <param name="tokens">The batch.</param>
    /// <param name="hooks">Hooks to run at the hook points.</param>
    /// <param name="cacheNames">Which activations to record in <see cref="Cache"/>.</param>
    /// <param name="patternRows">
    /// Called with every head's attention pattern as the pass makes it, a block of query rows at a time, so a caller
    /// that reads each pattern once (detection) needs no <c>[batch, n_heads, q, k]</c> tensor per layer.
    /// </param>
    /// <param name="arena">
    /// Where the pass's tensors live, when its caller reads what it needs and drops the pass before the arena's next
    /// <see cref="TensorArena.Reset"/> (not with a cache, whose tensors outlive the pass).
    /// </param>
    internal ForwardPass(
        TransformerWeights weights, int[][] tokens, HookSet? hooks, Func<string, bool>? cacheNames, PatternRows? patternRows = null,
        TensorArena? arena = null)
    {
        Tokens.Validate(tokens, weights.Config);
        if (arena is not null && cacheNames is not null)
        {
            throw new ArgumentException("A cached pass's tensors outlive it, so they cannot live in an arena.", nameof(arena));
        }

        _weights = weights;
        _arena = arena;
        _hooks = hooks;
        _cacheNames = cacheNames;
        _patternRows = patternRows;
        Batch = tokens.Length;
        Positions = tokens[0].Length;

        var embed = NewTensor(Batch, Positions, Config.DModel);
        var pos = NewTensor(Batch, Positions, Config.DModel);
        ForwardKernels.Embed(weights, tokens, embed.Span, pos.Span);

        Point(HookNames.Embed, embed);
        _posEmbed = Point(HookNames.PosEmbed, pos);
        Residual = Config.IsShortformer ? embed : Add(embed, _posEmbed);
        _arenaMark = arena?.Taken ?? 0;
    }

    /// <summary>
    /// Starts a pass at block <paramref name="layer"/> instead of block 0: <paramref name="residual"/>
    /// <c>[batch, pos, d_model]</c> is the residual stream entering it (a cached <c>hook_resid_pre</c>, possibly
    /// patched). No tokens are embedded and no hook point before the block runs; the blocks before it do not run. The
    /// pass's tensors live in <paramref name="arena"/>.
    /// </summary>
    internal ForwardPass(TransformerWeights weights, int layer, Tensor residual, HookSet? hooks, TensorArena arena)
    {
        var config = weights.Config;
        if (layer < 0 || layer >= config.NLayers || residual.Rank != 3 || residual.Dim(0) < 1 || residual.Dim(1) < 1
            || residual.Dim(1) > config.NCtx || residual.Dim(2) != config.DModel)
        {
            throw new ArgumentException(
                $"A pass starts at a block of the model's {config.NLayers} from a [batch, pos ≤ {config.NCtx}, {config.DModel}] residual "
                + $"stream, not at block {layer} from {Tensor.FormatShape(residual.Shape)}.", nameof(residual));
        }

        _weights = weights;
        _hooks = hooks;
        _arena = arena;
        Batch = residual.Dim(0);
        Positions = residual.Dim(1);
        if (config.IsShortformer)
        {
            // Standard positions are in the residual stream already; only shortformer queries and keys add them again.
            _posEmbed = NewTensor(Batch, Positions, config.DModel);
            ForwardKernels.PositionRows(weights, Batch, Positions, _posEmbed.Span);
        }
        _nextLayer = layer;
        Residual = residual;
        _arenaMark = arena.Taken;
    }

    /// <summary>The architecture.</summary>
    public ModelConfig Config => _weights.Config;

    /// <summary>Sequences in the batch.</summary>
    public int Batch { get; }

    /// <summary>Positions per sequence.</summary>
    public int Positions { get; }

    /// <summary>The residual stream <c>[batch, pos, d_model]</c> after the blocks run so far.</summary>
    public Tensor Residual { get; private set; }

    /// <summary>The activations recorded so far.</summary>
    public ActivationCache Cache { get; } = new();

    /// <summary>Runs block <paramref name="layer"/>, which must be the next one.</summary>
    public void Block(int layer)
    {
        CheckNext(layer);
        Residual = RunBlock(layer, lastPosition: false);

        // Nothing but the new residual stream outlives a block of a pass in an arena (it has no cache, and its hooks edit
        // activations in place): the block's other tensors, and the stream it read, are the next block's memory.
        _arena?.ReleaseSince(_arenaMark, Residual);
    }

    /// <summary>
    /// Runs the blocks not run yet and the final LayerNorm (if any) for the last position of each sequence: the residual
    /// stream the unembedding reads there, <c>[batch, 1, d_model]</c>. The last block makes its keys and values at every
    /// position but its queries, attention, output and MLP only at the last one, which is all a metric read at the last
    /// position depends on. When a hook or the cache wants an activation of the last block (other than its
    /// <c>hook_resid_pre</c>) or the final LayerNorm, that block runs whole, so they see every position.
    /// </summary>
    internal Tensor FinalResidualAtLastPosition()
    {
        var last = Config.NLayers - 1;
        if (_stoppedAtPatterns)
        {
            throw new InvalidOperationException($"The pass stopped at block {_nextLayer - 1}'s patterns.");
        }

        var wholeBlock = _cacheNames is not null || _hooks?.Names.Any(name => name == HookNames.FinalNormalized
            || (name.StartsWith($"blocks.{last}.", StringComparison.Ordinal) && name != HookNames.ResidPre(last))) == true;
        while (_nextLayer < last || (wholeBlock && _nextLayer == last))
        {
            Block(_nextLayer);
        }

        Tensor residual;
        if (_nextLayer == last)
        {
            CheckNext(last);
            residual = RunBlock(last, lastPosition: true);
        }
        else
        {
            residual = LastPositions(Residual.Span);
        }

        return Normalize(residual, _weights.LnFinalW, _weights.LnFinalB, HookNames.FinalNormalized);
    }

    /// <summary>
    /// Block <paramref name="layer"/> on <see cref="Residual"/>: its <c>hook_resid_post</c>, <c>[batch, pos, d_model]</c>,
    /// or <c>[batch, 1, d_model]</c> at the last position only (<see cref="FinalResidualAtLastPosition"/>).
    /// </summary>
    private Tensor RunBlock(int layer, bool lastPosition)
    {
        var w = _weights.Blocks[layer];
        var residPre = Point(HookNames.ResidPre(layer), Residual);
        var attnIn = Normalize(residPre, w.Ln1W, w.Ln1B, HookNames.Ln1Normalized(layer));
        var attnOut = Point(HookNames.AttnOut(layer), Attention(layer, w, attnIn, lastPosition));
        var stream = lastPosition ? LastPositions(residPre.Span) : residPre;
        if (!Config.HasMlp)
        {
            return Point(HookNames.ResidPost(layer), Add(stream, attnOut));
        }

        var residMid = Point(HookNames.ResidMid(layer), Add(stream, attnOut));
        var mlpIn = Normalize(residMid, w.Ln2W, w.Ln2B, HookNames.Ln2Normalized(layer));
        var mlpOut = Point(HookNames.MlpOut(layer), Mlp(layer, w, mlpIn));
        return Point(HookNames.ResidPost(layer), Add(residMid, mlpOut));
    }

    /// <summary>
    /// Runs block <paramref name="layer"/>, which must be the next one, only as far as its attention pattern, which goes
    /// to the pass's pattern-row observer: no values, <c>z</c>, output or MLP, and no block after it. For a caller
    /// that reads only patterns (detection), the last layer's block. The pass must have no hooks and no cache, since
    /// the hook points after the pattern never run.
    /// </summary>
    internal void PatternsOnly(int layer)
    {
        if (_patternRows is null || _hooks is not null || _cacheNames is not null)
        {
            throw new InvalidOperationException("A pass stopped at the patterns needs a pattern-row observer and no hooks or cache.");
        }

        CheckNext(layer);
        _stoppedAtPatterns = true;
        var w = _weights.Blocks[layer];
        var (q, k) = QueriesAndKeys(layer, w, Normalize(Residual, w.Ln1W, w.Ln1B, HookNames.Ln1Normalized(layer)));
        FusedAttention(layer, q, k, v: null, z: null);
    }

    private void CheckNext(int layer)
    {
        if (_stoppedAtPatterns || layer != _nextLayer || layer >= Config.NLayers)
        {
            throw new InvalidOperationException(_stoppedAtPatterns
                ? $"Block {layer} cannot run: the pass stopped at block {_nextLayer - 1}'s patterns."
                : $"Block {layer} cannot run now: the next block is {_nextLayer} of {Config.NLayers}.");
        }

        _nextLayer++;
    }

    /// <summary>Runs the final LayerNorm (if any) and the unembedding: the logits <c>[batch, pos, d_vocab]</c>.</summary>
    public Tensor Unembed() => Linear(FinalResidual(), _weights.W_U, _weights.b_U);

    /// <summary>
    /// Runs the final LayerNorm (if any): the residual stream the unembedding reads, <c>[batch, pos, d_model]</c>.
    /// <see cref="Losses.NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/> unembeds it a block of rows at a time.
    /// </summary>
    internal Tensor FinalResidual()
    {
        if (_nextLayer != Config.NLayers || _stoppedAtPatterns)
        {
            throw new InvalidOperationException($"Unembed needs all {Config.NLayers} blocks run; {_nextLayer} have.");
        }

        return Normalize(Residual, _weights.LnFinalW, _weights.LnFinalB, HookNames.FinalNormalized);
    }

    /// <summary>
    /// The attention output of block <paramref name="layer"/>, <c>[batch, pos, d_model]</c>; with
    /// <paramref name="lastPosition"/>, <c>[batch, 1, d_model]</c> from the last position's queries only.
    /// </summary>
    private Tensor Attention(int layer, BlockWeights w, Tensor x, bool lastPosition)
    {
        var (q, k) = QueriesAndKeys(layer, w, x, lastPosition);
        var v = Point(HookNames.V(layer), ProjectHeads(x.Span, w.W_V, w.b_V));
        var z = NewTensor(q.Shape.ToArray());
        if (lastPosition)
        {
            LastPositionAttention(q, k, v, z);
        }
        else if (Wants(HookNames.AttnScores(layer)) || Wants(HookNames.Pattern(layer)))
        {
            MaterializedAttention(layer, q, k, v, z);
        }
        else
        {
            FusedAttention(layer, q, k, v, z);
        }

        Point(HookNames.Z(layer), z);
        return AttentionOutput(layer, w, z);
    }

    /// <summary>
    /// The queries and keys <c>[batch, pos, n_heads, d_head]</c> of block <paramref name="layer"/>, hooked; with
    /// <paramref name="lastPosition"/>, the queries of the last position only (<c>[batch, 1, n_heads, d_head]</c>).
    /// </summary>
    private (Tensor Q, Tensor K) QueriesAndKeys(int layer, BlockWeights w, Tensor x, bool lastPosition = false)
    {
        Tensor q, k;
        if (Config.IsShortformer)
        {
            // Queries and keys read the positions too (values do not); their sum is no hook point and lives only here.
            var qkIn = ArrayPool<float>.Shared.Rent(x.Length);
            try
            {
                TensorPrimitives.Add(x.Span, _posEmbed!.Span, qkIn);
                var queries = qkIn.AsSpan(0, x.Length);
                q = ProjectHeads(lastPosition ? LastPositions(queries).Span : queries, w.W_Q, w.b_Q);
                k = ProjectHeads(qkIn.AsSpan(0, x.Length), w.W_K, w.b_K);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(qkIn);
            }
        }
        else
        {
            q = ProjectHeads(lastPosition ? LastPositions(x.Span).Span : x.Span, w.W_Q, w.b_Q);
            k = ProjectHeads(x.Span, w.W_K, w.b_K);
        }

        return (Point(HookNames.Q(layer), q), Point(HookNames.K(layer), k));
    }

    private Tensor AttentionOutput(int layer, BlockWeights w, Tensor z)
    {
        int heads = Config.NHeads, dh = Config.DHead, dm = Config.DModel, width = heads * dh;
        int batch = z.Dim(0), positions = z.Dim(1), rows = batch * positions;
        var output = NewTensor(batch, positions, dm);
        var resultName = HookNames.Result(layer);
        if (Wants(resultName))
        {
            // Per-head results, as TransformerLens's use_attn_result: hooks may edit them before they are summed.
            var result = NewTensor(batch, positions, heads, dm);
            for (var h = 0; h < heads; h++)
            {
                Gemm.Sgemm(false, false, rows, dm, dh, 1f, z.Span[(h * dh)..], width, w.W_O[h].Span, dm,
                    0f, result.Span[(h * dm)..], heads * dm);
            }

            Point(resultName, result);
            var sum = output.Span;
            ForwardKernels.FillRows(w.b_O.Span, sum);
            var all = result.Span;
            for (var r = 0; r < rows; r++)
            {
                for (var h = 0; h < heads; h++)
                {
                    TensorPrimitives.Add(sum.Slice(r * dm, dm), all.Slice(((r * heads) + h) * dm, dm), sum.Slice(r * dm, dm));
                }
            }
        }
        else
        {
            // z [rows, heads·d_head] times W_O viewed as [heads·d_head, d_model] sums the heads in one product.
            ForwardKernels.Linear(Gemm.Backend, z.Span, w.W_O.Span, w.b_O.Span, output.Span);
        }

        return output;
    }

    /// <summary>
    /// The attention of the last position's queries <paramref name="q"/> <c>[batch, 1, n_heads, d_head]</c>, which see
    /// every key, into <paramref name="z"/> of the same shape.
    /// </summary>
    private void LastPositionAttention(Tensor q, Tensor k, Tensor v, Tensor z)
    {
        int dh = Config.DHead, width = Config.NHeads * dh, n = Positions;
        ForEachSequenceHead((gemm, b, h) =>
        {
            var (row, keys) = ((b * width) + (h * dh), (b * n * width) + (h * dh));
            var pattern = ArrayPool<float>.Shared.Rent(n);
            try
            {
                ForwardKernels.AttentionRow(gemm, q.Span[row..], k.Span[keys..], v.Span[keys..], z.Span[row..], width, dh, n, pattern.AsSpan(0, n));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(pattern);
            }
        });
    }

    /// <summary>
    /// Scores, pattern and <c>z</c> one (sequence, head) and one block of query rows at a time, in a buffer of
    /// <see cref="ForwardKernels.RowBlock"/> rows per thread: no <c>n²</c> tensor exists when nothing hooks or caches the scores or the
    /// pattern. Row block <c>[r0, r0 + rows)</c> needs only the keys up to its last row; the rest is masked. Without
    /// <paramref name="v"/> and <paramref name="z"/> only the patterns are made, for the observer (<see cref="PatternsOnly"/>).
    /// </summary>
    private void FusedAttention(int layer, Tensor q, Tensor k, Tensor? v, Tensor? z)
    {
        int heads = Config.NHeads, dh = Config.DHead, width = heads * dh, n = Positions;
        ForEachSequenceHead((gemm, b, h) =>
        {
            var offset = (b * n * width) + (h * dh);
            var buffer = ArrayPool<float>.Shared.Rent(Math.Min(ForwardKernels.RowBlock, n) * n);
            try
            {
                for (var r0 = 0; r0 < n; r0 += ForwardKernels.RowBlock)
                {
                    var rows = Math.Min(ForwardKernels.RowBlock, n - r0);
                    var block = buffer.AsSpan(0, rows * n);
                    if (v is null || z is null)
                    {
                        ForwardKernels.CausalPatternRows(gemm, q.Span[offset..], k.Span[offset..], width, dh, r0, rows, block, n);
                    }
                    else
                    {
                        ForwardKernels.CausalAttentionRows(
                            gemm, q.Span[offset..], k.Span[offset..], v.Span[offset..], z.Span[offset..], width, dh, r0, rows, block, n);
                    }

                    _patternRows?.Invoke(layer, b, h, r0, rows, block, n);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        });
    }

    /// <summary>
    /// The attention of a hooked or cached pass: the scores and the pattern as whole <c>[batch, n_heads, q, k]</c>
    /// tensors, so hooks can read and edit them, then <c>z</c> from the (possibly edited) pattern.
    /// </summary>
    private void MaterializedAttention(int layer, Tensor q, Tensor k, Tensor v, Tensor z)
    {
        int heads = Config.NHeads, dh = Config.DHead, width = heads * dh, batch = Batch, n = Positions;
        var scores = NewTensor(batch, heads, n, n);
        ForEachSequenceHead((gemm, b, h) =>
        {
            // Causal: row block [r0, r0 + rows) only needs the keys up to its last row; the rest is masked.
            var offset = (b * n * width) + (h * dh);
            var block = scores.Span.Slice(((b * heads) + h) * n * n, n * n);
            for (var r0 = 0; r0 < n; r0 += ForwardKernels.RowBlock)
            {
                ForwardKernels.Scores(gemm, q.Span[offset..], k.Span[offset..], width, dh, r0, Math.Min(ForwardKernels.RowBlock, n - r0),
                    block[(r0 * n)..], n);
            }

            for (var i = 0; i < n - 1; i++)
            {
                block.Slice((i * n) + i + 1, n - i - 1).Fill(float.NegativeInfinity);
            }
        });

        // When the scores are hooked or cached the pattern is a fresh (zero) tensor and each row copies only the
        // scores it normalises; otherwise the softmax runs in place and clears the masked part.
        var scoresName = HookNames.AttnScores(layer);
        var keepScores = Wants(scoresName);
        var pattern = keepScores ? NewTensor(Point(scoresName, scores).Shape.ToArray()) : scores;
        ForEachSequenceHead((_, b, h) =>
        {
            var offset = ((b * heads) + h) * n * n;
            var source = scores.Span.Slice(offset, n * n);
            var block = pattern.Span.Slice(offset, n * n);
            for (var i = 0; i < n; i++)
            {
                var row = block.Slice(i * n, n);
                if (keepScores)
                {
                    source.Slice(i * n, i + 1).CopyTo(row);
                }
                else
                {
                    row[(i + 1)..].Clear();
                }

                Ops.SoftmaxRows(row[..(i + 1)], i + 1);
            }
        });

        var patternName = HookNames.Pattern(layer);
        Point(patternName, pattern);

        // Row i of the pattern is zero past column i, so row block [r0, r0 + rows) reads only that many values —
        // unless a hook may have written attention to later positions.
        var causal = _hooks?.Has(patternName) != true;
        ForEachSequenceHead((gemm, b, h) =>
        {
            var offset = (b * n * width) + (h * dh);
            var p = pattern.Span.Slice(((b * heads) + h) * n * n, n * n);
            if (_patternRows is { } observe)
            {
                observe(layer, b, h, 0, n, p, n);
            }

            for (var r0 = 0; r0 < n; r0 += ForwardKernels.RowBlock)
            {
                var rows = Math.Min(ForwardKernels.RowBlock, n - r0);
                ForwardKernels.Mix(gemm, p[(r0 * n)..], n, v.Span[offset..], z.Span[offset..], width, dh, r0, rows, causal ? r0 + rows : n);
            }
        });
    }

    private Tensor Mlp(int layer, BlockWeights w, Tensor x)
    {
        var pre = Point(HookNames.MlpPre(layer), Linear(x, w.W_in!, w.b_in!));
        var post = NewTensor(pre.Shape.ToArray());
        pre.Span.CopyTo(post.Span);
        Ops.Activation(post.Span, Config.ActFn!.Value);
        Point(HookNames.MlpPost(layer), post);
        return Linear(post, w.W_out!, w.b_out!);
    }

    private Tensor Normalize(Tensor x, Tensor? weight, Tensor? bias, string hookName)
    {
        if (!Config.HasLayerNorm)
        {
            return x;
        }

        var y = NewTensor(x.Shape.ToArray());
        ForwardKernels.LayerNorm(x.Span, y.Span, Config.DModel, weight, bias);
        return Point(hookName, y);
    }

    /// <summary><c>x · W_h + b_h</c> for every head: <c>[batch, pos, n_heads, d_head]</c> (or one position).</summary>
    private Tensor ProjectHeads(ReadOnlySpan<float> x, Tensor weight, Tensor bias)
    {
        var output = NewTensor(Batch, x.Length / Batch / Config.DModel, Config.NHeads, Config.DHead);
        ForwardKernels.ProjectHeads(Gemm.Backend, x, weight, bias, output.Span);
        return output;
    }

    /// <summary><c>x · W + b</c> over the rows of <paramref name="x"/>: <c>[batch, pos, outputs]</c>.</summary>
    private Tensor Linear(Tensor x, Tensor weight, Tensor bias)
    {
        var output = NewTensor(x.Dim(0), x.Dim(1), bias.Length);
        ForwardKernels.FillRows(bias.Span, output.Span);

        // Through DeferredMatrix, so GPT-2's tied W_U (W_Eᵀ) is multiplied as the transpose it is, never computed whole.
        DeferredMatrix.MultiplyColumns(Gemm.Backend, x.Dim(0) * x.Dim(1), x.Span, weight, 0, bias.Length, 1f, output.Span);
        return output;
    }

    /// <summary>The last position's rows of <paramref name="stream"/> <c>[batch, pos, d_model]</c>: <c>[batch, 1, d_model]</c>.</summary>
    private Tensor LastPositions(ReadOnlySpan<float> stream)
    {
        var rows = NewTensor(Batch, 1, Config.DModel);
        for (var b = 0; b < Batch; b++)
        {
            stream.Slice(((b * Positions) + Positions - 1) * Config.DModel, Config.DModel).CopyTo(rows.Span.Slice(b * Config.DModel));
        }

        return rows;
    }

    private Tensor Add(Tensor a, Tensor b)
    {
        var sum = NewTensor(a.Memory.Length == 0 ? [0] : a.Shape.ToArray());
        TensorPrimitives.Add(a.Span, b.Span, sum.Span);
        return sum;
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every (sequence, head). With enough work the pairs run in parallel and each
    /// multiplies on one thread (<see cref="Gemm.Serial"/>), so the threads are not oversubscribed; otherwise they run
    /// in turn on <see cref="Gemm.Backend"/>.
    /// </summary>
    private void ForEachSequenceHead(Action<IGemmBackend, int, int> body)
    {
        int heads = Config.NHeads, pairs = Batch * heads;
        var work = (long)Positions * Positions * Config.DHead * pairs;
        if (work < 1 << 20 || Environment.ProcessorCount == 1)
        {
            var gemm = Gemm.Backend;
            for (var i = 0; i < pairs; i++)
            {
                body(gemm, i / heads, i % heads);
            }

            return;
        }

        var serial = Gemm.Serial;
        Parallel.For(0, pairs, i => body(serial, i / heads, i % heads));
    }

    /// <summary>A zero-filled tensor for a stage's output: in the pass's arena if it has one.</summary>
    private Tensor NewTensor(params int[] shape) => _arena?.Take(shape) ?? new Tensor(shape);

    private bool Wants(string name) => _hooks?.Has(name) == true || _cacheNames?.Invoke(name) == true;

    private Tensor Point(string name, Tensor activation)
    {
        _hooks?.Run(name, activation);
        if (_cacheNames?.Invoke(name) == true)
        {
            Cache.Add(name, activation);
        }

        return activation;
    }
}
