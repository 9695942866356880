using System.Numerics.Tensors;
using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>
/// Next-token cross-entropy: positions 0…n−2 predict tokens 1…n−1; natural log. Every path reduces a row of logits with
/// <see cref="LogSumExp"/>, from a logits tensor or straight out of the unembedding by row blocks
/// (<see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>), as are the other reductions of the
/// logits a caller may want without them: each position's loss, the accuracy, a logit difference.
/// </summary>
public static class Losses
{
    /// <summary>Predicting positions unembedded at once per thread by <see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>.</summary>
    /// <remarks>
    /// Each product packs the whole of <c>W_U</c> (d_model × d_vocab) once, so the row block sets how often that happens:
    /// blocks of 128 packed it 32 times on 4 × 1024 tokens (perf: 20% of a cold <c>loss</c> in the copies, and two
    /// 99 MB packed copies alive at once); blocks of 512 pack it 8 times.
    /// </remarks>
    internal const int RowBlock = 512;

    /// <summary>Vocabulary entries of a row block's logits made and reduced at a time: 512 × 2048 floats, 4 MB a thread.</summary>
    internal const int VocabChunk = 2048;

    /// <summary>Positions run through the forward pass at once (whole sequences, at least one) when no hook may read the whole batch.</summary>
    private const int GroupPositions = 1024;

    /// <summary>Logits exponentiated at a time by <see cref="LogSumExp"/>, on the stack.</summary>
    private const int ExpChunk = 2048;

    private const string OneToken = "Sequences of one token predict nothing: the loss needs at least two.";

    /// <summary>
    /// The loss at each predicting position, <c>[batch, pos − 1]</c>: the next token's negated log-probability. Rows are
    /// reduced in parallel (each with <see cref="LogSumExp"/>, so the values do not depend on the threads).
    /// </summary>
    public static Tensor PerTokenCrossEntropy(Tensor logits, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(tokens);
        logits.RequireRank(3);
        int batch = logits.Dim(0), pos = logits.Dim(1), vocab = logits.Dim(2);
        if (tokens.Length != batch || tokens.Any(t => t.Length != pos))
        {
            throw new ArgumentException(
                $"Logits of shape {Tensor.FormatShape(logits.Shape)} do not match {tokens.Length} token sequences.", nameof(tokens));
        }

        int predicting = Math.Max(pos - 1, 0), rows = batch * predicting;
        var losses = new Tensor(batch, predicting);
        void Row(int r)
        {
            int b = r / predicting, p = r % predicting;
            losses.Span[r] = (float)RowLoss(logits.Span.Slice(((b * pos) + p) * vocab, vocab), tokens[b][p + 1]);
        }

        if ((long)rows * vocab < 1 << 20 || Environment.ProcessorCount == 1)
        {
            for (var r = 0; r < rows; r++)
            {
                Row(r);
            }
        }
        else
        {
            Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, Row);
        }

        return losses;
    }

    /// <summary>The mean of <see cref="PerTokenCrossEntropy(Tensor, int[][])"/> over every predicting position of the batch.</summary>
    public static double NextTokenCrossEntropy(Tensor logits, int[][] tokens)
    {
        var losses = PerTokenCrossEntropy(logits, tokens).Span;
        if (losses.IsEmpty)
        {
            throw new ArgumentException(OneToken, nameof(tokens));
        }

        double sum = 0;
        foreach (var l in losses)
        {
            sum += l;
        }

        return sum / losses.Length;
    }

    /// <summary>
    /// The mean next-token cross-entropy of <paramref name="model"/> on <paramref name="tokens"/> under optional
    /// <paramref name="hooks"/>, the value of <see cref="NextTokenCrossEntropy(Tensor, int[][])"/> on its logits without
    /// the <c>[batch, pos, d_vocab]</c> tensor: the forward pass runs to the final LayerNorm, then each thread unembeds
    /// <see cref="RowBlock"/> predicting positions at a time (positions 0…n−2; the last predicts nothing) into a buffer
    /// it reuses and reduces each row.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch, or their sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">
    /// A predicting position's loss is not finite because of a NaN or infinite logit (the first such position's first one
    /// is named): the forward pass overflowed. The last position is not unembedded, and a −∞ logit of a token that does
    /// not come next is a probability of 0, not an error.
    /// </exception>
    public static double NextTokenCrossEntropy(HookedTransformer model, int[][] tokens, HookSet? hooks = null) =>
        Mean(ReduceNextTokenRows(model, tokens, hooks, RowBlock, SummaryLoss));

    /// <summary><see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/> unembedding <paramref name="rowBlock"/> positions at a time.</summary>
    internal static double NextTokenCrossEntropy(HookedTransformer model, int[][] tokens, int rowBlock) =>
        Mean(ReduceNextTokenRows(model, tokens, null, rowBlock, SummaryLoss));

    /// <summary>
    /// The loss at each predicting position, <c>[batch, pos − 1]</c> (the next token's negated log-probability), straight
    /// out of the unembedding as <see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>: the values
    /// of <see cref="PerTokenCrossEntropy(Tensor, int[][])"/> on the model's logits, without them.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch, or their sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">A predicting position has a NaN or infinite logit that makes its loss not finite.</exception>
    public static Tensor PerTokenCrossEntropy(HookedTransformer model, int[][] tokens, HookSet? hooks = null)
    {
        var losses = ReduceNextTokenRows(model, tokens, hooks, RowBlock, SummaryLoss);
        var result = new Tensor(tokens.Length, tokens[0].Length - 1);
        for (var r = 0; r < losses.Length; r++)
        {
            result.Span[r] = (float)losses[r];
        }

        return result;
    }

    /// <summary>
    /// The fraction of predicting positions whose most likely next token (the first largest logit) is the one that comes
    /// next, straight out of the unembedding by row blocks, as <see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch, or their sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">A predicting position has a NaN or +∞ logit, or its next token a −∞ one.</exception>
    public static double NextTokenAccuracy(HookedTransformer model, int[][] tokens, HookSet? hooks = null) =>
        Mean(ReduceNextTokenRows(model, tokens, hooks, RowBlock, SummaryHit));

    /// <summary>
    /// The <paramref name="count"/> most likely tokens at every position (the last too), <c>[batch][pos][rank]</c>: each
    /// position's <paramref name="count"/> largest logits (all of them when d_vocab is smaller), largest first, the lower
    /// token first among equal logits. Straight out of the unembedding by row blocks, as
    /// <see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>, without the <c>[batch, pos, d_vocab]</c>
    /// tensor. The products are made on <see cref="Gemm.Backend"/>, the backend <see cref="HookedTransformer.Forward"/>
    /// multiplies with, one row block after another: the logits are the floats it returns when the backend rounds a
    /// block's product as it rounds the whole batch's (the managed kernel does; OpenBLAS may differ in the last bit).
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not positive.</exception>
    /// <exception cref="NonFiniteLogitException">
    /// A logit is NaN or infinite (the first in <c>[sequence, position, vocab]</c> order is named): the forward pass
    /// overflowed.
    /// </exception>
    public static Prediction[][][] TopPredictions(HookedTransformer model, int[][] tokens, int count, HookSet? hooks = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return TopPredictions(model, tokens, count, hooks, RowBlock);
    }

    /// <summary><see cref="TopPredictions(HookedTransformer, int[][], int, HookSet?)"/> unembedding <paramref name="rowBlock"/> positions at a time.</summary>
    internal static Prediction[][][] TopPredictions(HookedTransformer model, int[][] tokens, int count, HookSet? hooks, int rowBlock)
    {
        var rows = ReduceModelRows(model, tokens, hooks, rowBlock, reduce: null, count).Predictions;
        var n = tokens[0].Length;
        return [.. Enumerable.Range(0, tokens.Length).Select(b => rows[(b * n)..((b + 1) * n)])];
    }

    /// <summary>
    /// The logit of <paramref name="token"/> minus that of <paramref name="other"/> at every position, <c>[batch, pos]</c>:
    /// the final residual stream's dot product with the difference of their unembedding columns, in double, plus the
    /// difference of their biases. Two columns of <c>W_U</c> are all it reads; no row is unembedded.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside the vocabulary.</exception>
    public static Tensor LogitDifference(HookedTransformer model, int[][] tokens, int token, int other, HookSet? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var vocab = model.Config.DVocab;
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, vocab);
        ArgumentOutOfRangeException.ThrowIfNegative(other);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(other, vocab);
        var differences = LogitDifferences(model.Weights, FinalResidual(model, tokens, hooks).Span, token, other);
        var result = new Tensor(tokens.Length, tokens[0].Length);
        for (var r = 0; r < result.Length; r++)
        {
            result.Span[r] = (float)differences[r];
        }

        return result;
    }

    /// <summary>
    /// The logit of <paramref name="token"/> minus that of <paramref name="other"/> for every row of a final residual
    /// stream <paramref name="residual"/> (after the final LayerNorm, <c>d_model</c> floats a row), in double: as
    /// <see cref="LogitDifference"/>, from two columns of <c>W_U</c>. The tokens must be in the vocabulary.
    /// </summary>
    internal static double[] LogitDifferences(TransformerWeights weights, ReadOnlySpan<float> residual, int token, int other)
    {
        var dm = weights.Config.DModel;
        var direction = new double[dm];

        // Two columns, read without computing a deferred W_U whole (GPT-2's tied one is wte's transpose).
        var columns = new float[2 * dm];
        DeferredMatrix.CopyColumns(weights.W_U, token, 1, columns.AsSpan(0, dm));
        DeferredMatrix.CopyColumns(weights.W_U, other, 1, columns.AsSpan(dm));
        for (var i = 0; i < dm; i++)
        {
            direction[i] = (double)columns[i] - columns[dm + i];
        }

        var bias = (double)weights.b_U.Span[token] - weights.b_U.Span[other];
        var result = new double[residual.Length / dm];
        for (var r = 0; r < result.Length; r++)
        {
            var row = residual.Slice(r * dm, dm);
            var sum = bias;
            for (var i = 0; i < dm; i++)
            {
                sum += row[i] * direction[i];
            }

            result[r] = sum;
        }

        return result;
    }

    /// <summary>The forward pass of <paramref name="model"/> to the final LayerNorm, <c>[batch · pos, d_model]</c>.</summary>
    private static Tensor FinalResidual(HookedTransformer model, int[][] tokens, HookSet? hooks)
    {
        ArgumentNullException.ThrowIfNull(model);
        var pass = model.Begin(tokens, hooks);
        for (var layer = 0; layer < model.Config.NLayers; layer++)
        {
            pass.Block(layer);
        }

        return pass.FinalResidual();
    }

    /// <summary>What a reduction reads of one predicting position's logits row.</summary>
    /// <param name="LogSumExp"><c>log Σ exp(row)</c>, accumulated in double.</param>
    /// <param name="Target">The logit of the token that comes next.</param>
    /// <param name="ArgMax">The first largest logit's token.</param>
    /// <param name="TargetToken">The token that comes next.</param>
    private readonly record struct RowSummary(double LogSumExp, float Target, int ArgMax, int TargetToken);

    /// <summary>
    /// Reduces each predicting position's logits (positions 0…n−2 of each sequence, in order) with
    /// <paramref name="reduce"/>, as <see cref="ReduceModelRows"/>.
    /// </summary>
    /// <exception cref="NonFiniteLogitException">
    /// A row has a NaN or +∞ logit (the first such position's first one is named), or its value is not finite because
    /// the next token's logit is −∞ (that logit is named).
    /// </exception>
    private static double[] ReduceNextTokenRows(HookedTransformer model, int[][] tokens, HookSet? hooks, int rowBlock, Func<RowSummary, double> reduce) =>
        ReduceModelRows(model, tokens, hooks, rowBlock, reduce, top: 0).Values;

    /// <summary>
    /// Runs the rows of <paramref name="tokens"/> that a <see cref="RowReduction"/> of <paramref name="reduce"/> and
    /// <paramref name="top"/> reads through the model and that reduction. Without hooks the forward pass runs about
    /// <see cref="GroupPositions"/> positions at a time (a hook may read the whole batch, so with hooks it runs once); the
    /// rows are then unembedded <paramref name="rowBlock"/> at a time, <see cref="VocabChunk"/> vocabulary entries at a
    /// time, into a buffer reused, keeping each row's running maximum, its sum of exponentials (float exp, vectorised;
    /// a double sum, rescaled when the maximum grows) when it has a next token, its first largest logit, the next
    /// token's logit and its <paramref name="top"/> largest logits. Neither the logits nor the residual stream of the
    /// whole batch exist at once.
    /// </summary>
    /// <exception cref="NonFiniteLogitException">A row's first bad logit (see <see cref="RowReduction"/>), the first such row's.</exception>
    private static RowReduction ReduceModelRows(HookedTransformer model, int[][] tokens, HookSet? hooks, int rowBlock, Func<RowSummary, double>? reduce, int top)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        CircuitDsl.Model.Tokens.Validate(tokens, model.Config);
        var n = tokens[0].Length;
        if (reduce is not null && n < 2)
        {
            throw new ArgumentException(OneToken, nameof(tokens));
        }

        var reduction = new RowReduction(tokens.Length, n, reduce, top);
        var group = hooks is null ? Math.Max(1, GroupPositions / n) : tokens.Length;
        for (var s0 = 0; s0 < tokens.Length; s0 += group)
        {
            var part = tokens[s0..Math.Min(tokens.Length, s0 + group)];
            var x = FinalResidual(model, part, hooks);
            if (ReduceRows(model.Weights.W_U, model.Weights.b_U, x, part, s0, rowBlock, reduction) is { } first)
            {
                throw first;
            }
        }

        return reduction;
    }

    /// <summary>
    /// The mean next-token cross-entropy of the logits <c>x W_U + bias</c>, straight out of the unembedding by row blocks
    /// as <see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>, for a final residual stream
    /// <paramref name="x"/> <c>[batch · pos, d_model]</c> already through the final LayerNorm (or its frozen linear part) and
    /// a constant <paramref name="bias"/> row <c>[d_vocab]</c>: what path expansion's term importance and removal
    /// losses reduce (<see cref="Circuits.PathExpansion"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">A predicting position has a NaN or infinite logit that makes its loss not finite.</exception>
    internal static double NextTokenCrossEntropy(Tensor x, int[][] tokens, Tensor unembed, Tensor bias) =>
        Mean(NextTokenLosses(x, tokens, unembed, bias));

    /// <summary>
    /// The loss at each predicting position of <see cref="NextTokenCrossEntropy(Tensor, int[][], Tensor, Tensor)"/>, in
    /// order (positions 0…n−2 of each sequence); with <paramref name="rescale"/> (a factor per row of
    /// <paramref name="x"/>), followed by the losses under the logits <c>s ⊙ (x W_U) + bias</c> from the same product:
    /// what the logit lens averages per layer over a stack of layers, with the final LayerNorm's frozen scale and, the
    /// same rows rescaled, with each row's own (<see cref="Circuits.ResidualDecomposition.LogitLensMeans(bool, bool)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">A predicting position has a NaN or infinite logit that makes its loss not finite.</exception>
    internal static double[] NextTokenLosses(Tensor x, int[][] tokens, Tensor unembed, Tensor bias, float[]? rescale = null)
    {
        var n = tokens[0].Length;
        if (n < 2)
        {
            throw new ArgumentException(OneToken, nameof(tokens));
        }

        var reduction = new RowReduction(tokens.Length, n, SummaryLoss, top: 0, rescale);
        if (ReduceRows(unembed, bias, x, tokens, 0, RowBlock, reduction) is { } first)
        {
            throw first;
        }

        return reduction.Values;
    }

    /// <summary>
    /// The mean next-token loss of each of <paramref name="copies"/> final residual streams of the same
    /// <paramref name="tokens"/>, stacked in <paramref name="x"/> <c>[copies · batch · pos, d_model]</c>, from one pass of
    /// <see cref="NextTokenLosses"/> (one unembedding of all their rows rather than one per stream); with
    /// <paramref name="rescale"/>, followed by each copy's mean under the rescaled logits. Each mean sums its rows in
    /// order, as <see cref="NextTokenCrossEntropy(Tensor, int[][], Tensor, Tensor)"/> does for one stream.
    /// </summary>
    /// <exception cref="ArgumentException">The sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">A copy's row has a bad logit: the first is named by its sequence of <paramref name="tokens"/>.</exception>
    internal static double[] StackedMeanLosses(Tensor x, int copies, int[][] tokens, Tensor unembed, Tensor bias, float[]? rescale = null)
    {
        double[] values;
        try
        {
            values = NextTokenLosses(x, [.. Enumerable.Repeat(tokens, copies).SelectMany(t => t)], unembed, bias, rescale);
        }
        catch (NonFiniteLogitException e)
        {
            // Its sequence counts the stacked copies: name the batch's sequence.
            throw new NonFiniteLogitException(e.Sequence % tokens.Length, e.Position, e.Token, e.Value);
        }

        var per = tokens.Length * (tokens[0].Length - 1);
        var means = new double[values.Length / per];
        for (var k = 0; k < means.Length; k++)
        {
            means[k] = Mean(values.AsSpan(k * per, per));
        }

        return means;
    }

    /// <summary>
    /// Unembeds and reduces the rows <paramref name="reduction"/> reads of the sequences <paramref name="tokens"/> (the
    /// batch's from <paramref name="firstSequence"/> on), whose final residual stream is <paramref name="x"/>, with the
    /// logits <c>x <paramref name="unembed"/> + <paramref name="bias"/></c>; returns the exception of their first row with
    /// a bad logit, if any. With <see cref="RowReduction.Rescale"/> each row's product is also reduced as
    /// <c>s · (x W_U) + bias</c>, into the second half of <see cref="RowReduction.Values"/>.
    /// </summary>
    private static NonFiniteLogitException? ReduceRows(
        Tensor unembed, Tensor bias, Tensor x, int[][] tokens, int firstSequence, int rowBlock, RowReduction reduction)
    {
        int n = tokens[0].Length, span = reduction.RowsPerSequence, count = tokens.Length * span, offset = firstSequence * span;
        int variants = reduction.Variants, half = reduction.Values.Length / variants;
        var rescale = reduction.Rescale;
        int dm = unembed.Dim(0), vocab = unembed.Dim(1), blocks = ((count - 1) / rowBlock) + 1;
        NonFiniteLogitException? first = null;
        var gate = new object();

        // Row r is position p = r mod span of sequence b = r / span, row b·n + p of the residual stream: a block gathers
        // its rows, which may span sequences, then makes and reduces their logits a vocabulary chunk at a time.
        // Blocks that follow one another (their products on every core) reduce each chunk's rows on every core too.
        var cores = Environment.ProcessorCount;
        void Block(IGemmBackend gemm, int block, BlockBuffers buffers, bool rowsInParallel)
        {
            int r0 = block * rowBlock, rows = Math.Min(rowBlock, count - r0);
            var residual = x.Span;
            for (var i = 0; i < rows; i++)
            {
                int b = (r0 + i) / span, p = (r0 + i) % span;
                residual.Slice(((b * n) + p) * dm, dm).CopyTo(buffers.Input.AsSpan(i * dm, dm));
                buffers.Start(i, reduction.Reduce is null ? -1 : tokens[b][p + 1]);
                if (rescale is not null)
                {
                    buffers.Start(rows + i, tokens[b][p + 1]);
                    buffers.Scale[i] = rescale[(b * n) + p];
                }
            }

            for (var j0 = 0; j0 < vocab; j0 += VocabChunk)
            {
                var width = Math.Min(VocabChunk, vocab - j0);
                var chunk = buffers.Logits.AsSpan(0, rows * width);
                if (rescale is null)
                {
                    ForwardKernels.FillRows(bias.Span.Slice(j0, width), chunk);
                }

                DeferredMatrix.MultiplyColumns(gemm, rows, buffers.Input.AsSpan(0, rows * dm), unembed, j0, width,
                    rescale is null ? 1f : 0f, chunk);
                if (rowsInParallel)
                {
                    Parallel.For(0, cores, part => AddRows(buffers, part * rows / cores, (part + 1) * rows / cores, rows, j0, width));
                }
                else
                {
                    AddRows(buffers, 0, rows, rows, j0, width);
                }
            }

            for (var k = 0; k < rows * variants; k++)
            {
                int i = k / variants, r = r0 + i, b = r / span, p = r % span, slot = (k % variants * half) + offset + r;
                var summary = (k % variants * rows) + i;
                var (token, value) = buffers.NonFinite(summary);
                if (token < 0)
                {
                    if (reduction.Top > 0)
                    {
                        reduction.Predictions[offset + r] = buffers.Top(i);
                    }

                    if (reduction.Reduce is null)
                    {
                        continue;
                    }

                    reduction.Values[slot] = reduction.Reduce(buffers.Summary(summary));
                    if (double.IsFinite(reduction.Values[slot]))
                    {
                        continue;
                    }

                    // Finite logits (|v| ≤ float.MaxValue) give a finite value in double: the next token's logit is −∞.
                    (token, value) = (buffers.TargetToken[summary], buffers.Target[summary]);
                }

                lock (gate)
                {
                    if (first is null || ((first.Sequence - firstSequence) * span) + first.Position > r)
                    {
                        first = new NonFiniteLogitException(firstSequence + b, p, token, value);
                    }
                }

                return;
            }
        }

        // Folds rows [from, to) of a block of rows whose product with a chunk of width vocabulary entries is in the buffers'
        // logits: with a rescale, the product once, read twice (+ bias, and rescaled + bias) through a scratch row.
        void AddRows(BlockBuffers buffers, int from, int to, int rows, int j0, int width)
        {
            var biasChunk = bias.Span.Slice(j0, width);
            Span<float> scratch = rescale is null ? default : stackalloc float[width];
            for (var i = from; i < to; i++)
            {
                var row = buffers.Logits.AsSpan(i * width, width);
                if (rescale is null)
                {
                    buffers.Add(i, j0, row);
                    continue;
                }

                TensorPrimitives.Add(row, biasChunk, scratch);
                buffers.Add(i, j0, scratch);
                TensorPrimitives.MultiplyAdd(row, buffers.Scale[i], biasChunk, scratch);
                buffers.Add(rows + i, j0, scratch);
            }
        }

        var work = (long)count * dm * vocab;
        var small = work < 1 << 20 || cores == 1;
        if (reduction.Reduce is null || blocks == 1 || small)
        {
            // Top predictions print logits: they are made on the backend HookedTransformer.Forward multiplies with (on
            // every core), a block after another, so they round as its logits do: exactly with the managed kernel, whose
            // floats do not depend on how a product is split; to the last bit with OpenBLAS, whose do. (With OpenBLAS
            // there, a probe of the 4 × 1024-token unembedding also spent ~9× less CPU than on Gemm.Serial's blocks.)
            var buffers = new BlockBuffers(Math.Min(rowBlock, count), dm, Math.Min(VocabChunk, vocab), reduction);
            for (var block = 0; block < blocks && first is null; block++)
            {
                Block(Gemm.Backend, block, buffers, !small);
            }
        }
        else
        {
            // Each block multiplies on one thread (Gemm.Serial), so the threads are not oversubscribed; buffers per thread.
            var options = new ParallelOptions { MaxDegreeOfParallelism = cores };
            Parallel.For(0, blocks, options, () => new BlockBuffers(rowBlock, dm, Math.Min(VocabChunk, vocab), reduction), (block, _, buffers) =>
            {
                Block(Gemm.Serial, block, buffers, false);
                return buffers;
            }, _ => { });
        }

        return first;
    }

    /// <summary>
    /// What a row-block reduction reads and keeps, and what it has kept. With <see cref="Reduce"/> (the next-token
    /// reductions) its rows are the predicting positions 0…n−2 of each sequence, each with the token that comes next, a
    /// NaN or +∞ logit is bad (a −∞ one is a probability of 0), and each row's value is kept in <see cref="Values"/>.
    /// Without it its rows are every position 0…n−1 and any logit that is not finite is bad, as in the materialised
    /// logits the forward pass returns. With <see cref="Top"/> each row's largest logits are kept in
    /// <see cref="Predictions"/>. With <see cref="Rescale"/> (next-token rows only) each row is reduced a second time,
    /// its product scaled by its factor before the bias is added, into the second half of <see cref="Values"/>.
    /// </summary>
    private sealed class RowReduction(int sequences, int n, Func<RowSummary, double>? reduce, int top, float[]? rescale = null)
    {
        /// <summary>A next-token row's value from its summary; null for the rows of every position.</summary>
        public Func<RowSummary, double>? Reduce { get; } = reduce;

        /// <summary>How many of each row's largest logits to keep (none when 0).</summary>
        public int Top { get; } = top;

        public int RowsPerSequence { get; } = reduce is null ? n : n - 1;

        /// <summary>A factor per row of the residual stream (<c>[batch · pos]</c>) for a second, rescaled reduction; or null.</summary>
        public float[]? Rescale { get; } = rescale;

        /// <summary>Reductions per row: 2 with <see cref="Rescale"/>, else 1.</summary>
        public int Variants { get; } = rescale is null ? 1 : 2;

        /// <summary>
        /// Each row's value, <c>[sequence · RowsPerSequence + position]</c>; with <see cref="Rescale"/>, followed by the
        /// rescaled ones in the same order.
        /// </summary>
        public double[] Values { get; } = new double[reduce is null ? 0 : sequences * (n - 1) * (rescale is null ? 1 : 2)];

        /// <summary>Each row's largest logits, largest first (see <see cref="TopPredictions(HookedTransformer, int[][], int, HookSet?)"/>).</summary>
        public Prediction[][] Predictions { get; } = new Prediction[top == 0 ? 0 : sequences * (reduce is null ? n : n - 1)][];
    }

    /// <summary>
    /// One thread's row block: its residual rows, one vocabulary chunk of their logits, and each row's running reduction;
    /// with a rescale, a second reduction per row (at <c>rows</c> + row) and each row's factor in <see cref="Scale"/>.
    /// </summary>
    private sealed class BlockBuffers(int rows, int dm, int chunk, RowReduction reduction)
    {
        private readonly float[] _max = new float[rows * reduction.Variants];
        private readonly double[] _sum = new double[rows * reduction.Variants];
        private readonly int[] _argMax = new int[rows * reduction.Variants];
        private readonly int[] _bad = new int[rows * reduction.Variants];
        private readonly float[] _badValue = new float[rows * reduction.Variants];
        private readonly int[] _topCount = new int[rows * reduction.Variants];
        private readonly int[] _topTokens = new int[rows * reduction.Top];
        private readonly float[] _topLogits = new float[rows * reduction.Top];

        public float[] Input { get; } = new float[rows * dm];

        public float[] Logits { get; } = new float[rows * chunk];

        public float[] Scale { get; } = new float[reduction.Rescale is null ? 0 : rows];

        public float[] Target { get; } = new float[rows * reduction.Variants];

        public int[] TargetToken { get; } = new int[rows * reduction.Variants];

        /// <summary>Starts row <paramref name="i"/>, whose next token is <paramref name="target"/> (−1 for none).</summary>
        public void Start(int i, int target)
        {
            (_max[i], _sum[i], _argMax[i], _bad[i], TargetToken[i], Target[i], _topCount[i]) = (float.NegativeInfinity, 0, 0, -1, target, float.NaN, 0);
        }

        /// <summary>Folds the logits of vocabulary entries <c>[j0, j0 + logits.Length)</c> into row <paramref name="i"/>'s reduction.</summary>
        public void Add(int i, int j0, ReadOnlySpan<float> logits)
        {
            if (_bad[i] >= 0)
            {
                return;
            }

            var target = TargetToken[i] - j0;
            if (target >= 0 && target < logits.Length)
            {
                Target[i] = logits[target];
            }

            // IndexOfMax finds a NaN before anything else: a finite maximum means no NaN and no +∞.
            var top = TensorPrimitives.IndexOfMax(logits);
            var max = logits[top];
            if (IsBad(max) || (reduction.Reduce is null && float.IsNegativeInfinity(TensorPrimitives.Min(logits))))
            {
                var k = 0;
                while (!IsBad(logits[k]))
                {
                    k++;
                }

                (_bad[i], _badValue[i]) = (j0 + k, logits[k]);
                return;
            }

            if (float.IsNegativeInfinity(max))
            {
                return;
            }

            if (max > _max[i])
            {
                _sum[i] *= Math.Exp((double)_max[i] - max);
                (_max[i], _argMax[i]) = (max, j0 + top);
            }

            if (reduction.Reduce is not null)
            {
                _sum[i] += SumExp(logits, _max[i]);
            }

            if (reduction.Top > 0)
            {
                KeepTop(i, j0, logits, max);
            }
        }

        /// <summary>The first bad logit of row <paramref name="i"/> (token −1 when there is none).</summary>
        public (int Token, float Value) NonFinite(int i) => (_bad[i], _badValue[i]);

        public RowSummary Summary(int i) => new(_max[i] + Math.Log(_sum[i]), Target[i], _argMax[i], TargetToken[i]);

        /// <summary>Row <paramref name="i"/>'s largest logits kept, largest first.</summary>
        public Prediction[] Top(int i)
        {
            var kept = new Prediction[_topCount[i]];
            for (var t = 0; t < kept.Length; t++)
            {
                kept[t] = new Prediction(_topTokens[(i * reduction.Top) + t], _topLogits[(i * reduction.Top) + t]);
            }

            return kept;
        }

        /// <summary>A NaN or +∞ logit; for the rows of every position, any logit that is not finite.</summary>
        private bool IsBad(float v) => reduction.Reduce is null ? !float.IsFinite(v) : float.IsNaN(v) || float.IsPositiveInfinity(v);

        /// <summary>
        /// Folds a chunk whose largest logit is <paramref name="max"/> into row <paramref name="i"/>'s largest logits, in
        /// token order: a logit is kept when fewer are kept or it is larger than the smallest kept, after every kept
        /// logit it is not larger than (so the lower token comes first among equals), and the smallest kept makes room.
        /// </summary>
        private void KeepTop(int i, int j0, ReadOnlySpan<float> logits, float max)
        {
            var k = reduction.Top;
            var tokens = _topTokens.AsSpan(i * k, k);
            var kept = _topLogits.AsSpan(i * k, k);
            ref var count = ref _topCount[i];
            if (count == k && !(max > kept[k - 1]))
            {
                return;
            }

            for (var v = 0; v < logits.Length; v++)
            {
                var value = logits[v];
                if (count == k && !(value > kept[k - 1]))
                {
                    continue;
                }

                var at = Math.Min(count, k - 1);
                while (at > 0 && value > kept[at - 1])
                {
                    (kept[at], tokens[at]) = (kept[at - 1], tokens[at - 1]);
                    at--;
                }

                (kept[at], tokens[at]) = (value, j0 + v);
                count = Math.Min(count + 1, k);
            }
        }
    }

    private static double Mean(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (var v in values)
        {
            sum += v;
        }

        return sum / values.Length;
    }

    /// <summary>
    /// <c>log Σ exp(row)</c> of a non-empty row, computed stably: the exponentials of <c>row − max</c> in float,
    /// vectorised, a chunk at a time, and their sum in double.
    /// </summary>
    public static double LogSumExp(ReadOnlySpan<float> row)
    {
        var max = TensorPrimitives.Max(row);
        return max + Math.Log(SumExp(row, max));
    }

    /// <summary><c>Σ exp(row − max)</c>: the exponentials in float, vectorised, a chunk at a time on the stack, summed in double.</summary>
    private static double SumExp(ReadOnlySpan<float> row, float max)
    {
        Span<float> chunk = stackalloc float[Math.Min(ExpChunk, row.Length)];
        double sum = 0;
        for (var i = 0; i < row.Length; i += chunk.Length)
        {
            var part = chunk[..Math.Min(chunk.Length, row.Length - i)];
            TensorPrimitives.Subtract(row.Slice(i, part.Length), max, part);
            TensorPrimitives.Exp(part, part);
            sum += TensorPrimitives.Sum(part);
        }

        return sum;
    }

    /// <summary>The loss of one predicting position: <c>log Σ exp(row) − row[target]</c>.</summary>
    private static double RowLoss(ReadOnlySpan<float> row, int target) => LogSumExp(row) - row[target];

    /// <summary>The loss of one predicting position from its summary.</summary>
    private static double SummaryLoss(RowSummary row) => row.LogSumExp - row.Target;

    /// <summary>1 when the next token holds the row's first largest logit, else 0; NaN when its logit is −∞ (never predicted).</summary>
    private static double SummaryHit(RowSummary row) => float.IsNegativeInfinity(row.Target) ? double.NaN : row.ArgMax == row.TargetToken ? 1 : 0;
}
