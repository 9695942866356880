using System.Buffers;
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
    internal const int RowBlock = 128;

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
        Mean(ReduceNextTokenRows(model, tokens, hooks, RowBlock, RowLoss));

    /// <summary><see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/> unembedding <paramref name="rowBlock"/> positions at a time.</summary>
    internal static double NextTokenCrossEntropy(HookedTransformer model, int[][] tokens, int rowBlock) =>
        Mean(ReduceNextTokenRows(model, tokens, null, rowBlock, RowLoss));

    /// <summary>
    /// The loss at each predicting position, <c>[batch, pos − 1]</c> (the next token's negated log-probability), straight
    /// out of the unembedding as <see cref="NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>: the values
    /// of <see cref="PerTokenCrossEntropy(Tensor, int[][])"/> on the model's logits, without them.
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not a valid batch, or their sequences have one token.</exception>
    /// <exception cref="NonFiniteLogitException">A predicting position has a NaN or infinite logit that makes its loss not finite.</exception>
    public static Tensor PerTokenCrossEntropy(HookedTransformer model, int[][] tokens, HookSet? hooks = null)
    {
        var losses = ReduceNextTokenRows(model, tokens, hooks, RowBlock, RowLoss);
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
    /// <exception cref="NonFiniteLogitException">A predicting position has a NaN or +∞ logit, so it has no most likely token.</exception>
    public static double NextTokenAccuracy(HookedTransformer model, int[][] tokens, HookSet? hooks = null) =>
        Mean(ReduceNextTokenRows(model, tokens, hooks, RowBlock, RowHit));

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
        int dm = model.Config.DModel, vocab = model.Config.DVocab;
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, vocab);
        ArgumentOutOfRangeException.ThrowIfNegative(other);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(other, vocab);
        var x = FinalResidual(model, tokens, hooks, out _);
        var weights = model.Weights;
        var direction = new double[dm];
        var wU = weights.W_U.Span;
        for (var i = 0; i < dm; i++)
        {
            direction[i] = (double)wU[(i * vocab) + token] - wU[(i * vocab) + other];
        }

        var bias = (double)weights.b_U.Span[token] - weights.b_U.Span[other];
        var result = new Tensor(tokens.Length, tokens[0].Length);
        var residual = x.Span;
        for (var r = 0; r < result.Length; r++)
        {
            var row = residual.Slice(r * dm, dm);
            var sum = bias;
            for (var i = 0; i < dm; i++)
            {
                sum += row[i] * direction[i];
            }

            result.Span[r] = (float)sum;
        }

        return result;
    }

    /// <summary>The forward pass of <paramref name="model"/> to the final LayerNorm, <c>[batch · pos, d_model]</c>.</summary>
    private static Tensor FinalResidual(HookedTransformer model, int[][] tokens, HookSet? hooks, out ForwardPass pass)
    {
        ArgumentNullException.ThrowIfNull(model);
        pass = model.Begin(tokens, hooks);
        for (var layer = 0; layer < model.Config.NLayers; layer++)
        {
            pass.Block(layer);
        }

        return pass.FinalResidual();
    }

    /// <summary>
    /// Reduces each predicting position's logits row (positions 0…n−2 of each sequence, in order) with
    /// <paramref name="reduce"/>, given the token that comes next: each thread unembeds <paramref name="rowBlock"/>
    /// positions at a time into a buffer it reuses, so the logits never exist at once. A non-finite value is a
    /// <see cref="NonFiniteLogitException"/> naming the first such position's first NaN or infinite logit.
    /// </summary>
    private static double[] ReduceNextTokenRows(HookedTransformer model, int[][] tokens, HookSet? hooks, int rowBlock, Func<ReadOnlySpan<float>, int, double> reduce)
    {
        var x = FinalResidual(model, tokens, hooks, out var pass);
        int n = pass.Positions, predicting = pass.Batch * (n - 1);
        if (predicting == 0)
        {
            throw new ArgumentException(OneToken, nameof(tokens));
        }

        var weights = model.Weights;
        int dm = model.Config.DModel, vocab = model.Config.DVocab, blocks = ((predicting - 1) / rowBlock) + 1;
        var values = new double[predicting];
        NonFiniteLogitException? first = null;
        var gate = new object();

        // Predicting position r is row b·n + p of the residual stream (b = r / (n − 1), p = r mod (n − 1)): a block
        // gathers its rows, which may span sequences, then W_U (+ b_U) makes its logits.
        void Block(IGemmBackend gemm, int block, float[] input, float[] logits)
        {
            int r0 = block * rowBlock, rows = Math.Min(rowBlock, predicting - r0);
            var residual = x.Span;
            for (var i = 0; i < rows; i++)
            {
                int b = (r0 + i) / (n - 1), p = (r0 + i) % (n - 1);
                residual.Slice(((b * n) + p) * dm, dm).CopyTo(input.AsSpan(i * dm, dm));
            }

            ForwardKernels.Linear(gemm, input.AsSpan(0, rows * dm), weights.W_U.Span, weights.b_U.Span, logits.AsSpan(0, rows * vocab));
            for (var i = 0; i < rows; i++)
            {
                int r = r0 + i, b = r / (n - 1), p = r % (n - 1);
                var row = logits.AsSpan(i * vocab, vocab);
                values[r] = reduce(row, tokens[b][p + 1]);
                if (double.IsFinite(values[r]))
                {
                    continue;
                }

                // Finite logits (|v| ≤ float.MaxValue) give a finite value in double, so this row has a NaN or an infinity.
                var token = 0;
                while (float.IsFinite(row[token]))
                {
                    token++;
                }

                lock (gate)
                {
                    if (first is null || (first.Sequence * (n - 1)) + first.Position > r)
                    {
                        first = new NonFiniteLogitException(b, p, token, row[token]);
                    }
                }

                return;
            }
        }

        var work = (long)predicting * dm * vocab;
        if (blocks == 1 || work < 1 << 20 || Environment.ProcessorCount == 1)
        {
            var (input, logits) = Rent(Math.Min(rowBlock, predicting), dm, vocab);
            try
            {
                for (var block = 0; block < blocks; block++)
                {
                    Block(Gemm.Backend, block, input, logits);
                }
            }
            finally
            {
                Return(input, logits);
            }
        }
        else
        {
            // Each block multiplies on one thread (Gemm.Serial), so the threads are not oversubscribed; a buffer per thread.
            var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
            Parallel.For(0, blocks, options, () => Rent(rowBlock, dm, vocab), (block, _, buffers) =>
            {
                Block(Gemm.Serial, block, buffers.Input, buffers.Logits);
                return buffers;
            }, buffers => Return(buffers.Input, buffers.Logits));
        }

        return first is not null ? throw first : values;
    }

    private static double Mean(double[] values)
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
        Span<float> chunk = stackalloc float[Math.Min(ExpChunk, row.Length)];
        double sum = 0;
        for (var i = 0; i < row.Length; i += chunk.Length)
        {
            var part = chunk[..Math.Min(chunk.Length, row.Length - i)];
            TensorPrimitives.Subtract(row.Slice(i, part.Length), max, part);
            TensorPrimitives.Exp(part, part);
            sum += TensorPrimitives.Sum(part);
        }

        return max + Math.Log(sum);
    }

    /// <summary>The loss of one predicting position: <c>log Σ exp(row) − row[target]</c>.</summary>
    private static double RowLoss(ReadOnlySpan<float> row, int target) => LogSumExp(row) - row[target];

    /// <summary>1 when <paramref name="target"/> holds the row's first largest logit, else 0; NaN when the largest is NaN or +∞.</summary>
    private static double RowHit(ReadOnlySpan<float> row, int target)
    {
        var best = TensorPrimitives.IndexOfMax(row);
        return !float.IsFinite(row[best]) ? double.NaN : best == target ? 1 : 0;
    }

    private static (float[] Input, float[] Logits) Rent(int rows, int dm, int vocab) =>
        (ArrayPool<float>.Shared.Rent(rows * dm), ArrayPool<float>.Shared.Rent(rows * vocab));

    private static void Return(float[] input, float[] logits)
    {
        ArrayPool<float>.Shared.Return(input);
        ArrayPool<float>.Shared.Return(logits);
    }
}
