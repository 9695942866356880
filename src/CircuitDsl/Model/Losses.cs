using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>Next-token cross-entropy: positions 0…n−2 predict tokens 1…n−1; natural log.</summary>
public static class Losses
{
    /// <summary>The loss at each predicting position, <c>[batch, pos − 1]</c>.</summary>
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

        var losses = new Tensor(batch, Math.Max(pos - 1, 0));
        var span = logits.Span;
        for (var b = 0; b < batch; b++)
        {
            for (var p = 0; p + 1 < pos; p++)
            {
                var row = span.Slice(((b * pos) + p) * vocab, vocab);
                losses[b, p] = (float)(LogSumExp(row) - row[tokens[b][p + 1]]);
            }
        }

        return losses;
    }

    /// <summary>The mean of <see cref="PerTokenCrossEntropy"/> over every predicting position of the batch.</summary>
    public static double NextTokenCrossEntropy(Tensor logits, int[][] tokens)
    {
        var losses = PerTokenCrossEntropy(logits, tokens).Span;
        if (losses.IsEmpty)
        {
            throw new ArgumentException("Sequences of one token predict nothing: the loss needs at least two.", nameof(tokens));
        }

        double sum = 0;
        foreach (var l in losses)
        {
            sum += l;
        }

        return sum / losses.Length;
    }

    /// <summary><c>log Σ exp(row)</c>, computed stably in double precision.</summary>
    public static double LogSumExp(ReadOnlySpan<float> row)
    {
        var max = float.NegativeInfinity;
        foreach (var v in row)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        foreach (var v in row)
        {
            sum += Math.Exp(v - max);
        }

        return max + Math.Log(sum);
    }
}
