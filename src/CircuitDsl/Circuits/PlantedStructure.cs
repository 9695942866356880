using CircuitDsl.Tasks;
using CircuitDsl.Model;
using CircuitDsl.Reports;

namespace CircuitDsl.Circuits;

/// <summary>How well the direct path reproduces a bigram chain (see <see cref="PlantedStructure.DirectPathBigrams"/>).</summary>
/// <param name="Correlation">Pearson correlation, over all <c>d_vocab²</c> entries, of the model's and the chain's log-probabilities.</param>
/// <param name="MeanKl">Mean over current tokens of <c>KL(P(·|a) ‖ Q(·|a))</c> in nats, P the chain, Q the direct path.</param>
/// <param name="ModelLogProbs"><c>log_softmax(W_E W_U + b_U)</c> <c>[current, next]</c>.</param>
/// <param name="TrueLogProbs"><c>log P(next | current)</c> of the chain <c>[current, next]</c>.</param>
public sealed record BigramFit(double Correlation, double MeanKl, Tensor ModelLogProbs, Tensor TrueLogProbs);

/// <summary>Which planted skip-trigrams a head carries (see <see cref="PlantedStructure.SkipTrigrams"/>).</summary>
/// <param name="Fraction">The fraction of <paramref name="Triples"/> carried.</param>
/// <param name="Triples">Every planted triple with its ranks in the head's circuits.</param>
public sealed record SkipTrigramRecall(double Fraction, IReadOnlyList<PlantedSkipTrigram> Triples);

/// <summary>
/// Compares a model's circuits with the structure a training task planted: the bigram chain of
/// <see cref="BigramTask"/> against the direct path, the triples of <see cref="SkipTrigramTask"/> against a head's
/// skip-trigrams.
/// </summary>
public static class PlantedStructure
{
    /// <summary>
    /// The direct path as a bigram model, <c>log_softmax(W_E W_U + b_U)</c> row by row (the paper's zero-layer
    /// model, positional embeddings left out), against the chain's true <c>log P(next | current)</c>: their Pearson
    /// correlation over all <c>d_vocab²</c> entries, and the mean KL divergence of the rows.
    /// </summary>
    /// <exception cref="ArgumentException">The task's vocabulary differs from the model's.</exception>
    public static BigramFit DirectPathBigrams(TransformerWeights weights, BigramTask task)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(task);
        var vocab = weights.Config.DVocab;
        if (task.Vocab != vocab)
        {
            throw new ArgumentException($"The task has {task.Vocab} tokens but the model has d_vocab = {vocab}.", nameof(task));
        }

        var direct = HeadCircuits.DirectPath(weights);
        var model = new Tensor(vocab, vocab);
        var truth = new Tensor(vocab, vocab);
        var x = new double[vocab * vocab];
        var y = new double[vocab * vocab];
        double kl = 0;
        for (var a = 0; a < vocab; a++)
        {
            var row = direct.Row(a);
            var logits = new double[vocab];
            for (var b = 0; b < vocab; b++)
            {
                logits[b] = row[b] + weights.b_U.Span[b];
            }

            var max = logits.Max();
            var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            for (var b = 0; b < vocab; b++)
            {
                var q = logits[b] - logSum;
                var p = task.Transitions[a][b];
                var logP = Math.Log(p);
                x[a * vocab + b] = q;
                y[a * vocab + b] = logP;
                model[a, b] = (float)q;
                truth[a, b] = (float)logP;
                kl += p > 0 ? p * (logP - q) : 0;
            }
        }

        return new BigramFit(Pearson(x, y), kl / vocab, model, truth);
    }

    /// <summary>
    /// The fraction of the task's planted triples "A … B → C" (all <c>Anchors × Triggers</c> of them) that the head
    /// carries: B's query prefers A — A is among the <c>Anchors</c> highest keys of B's row of the full QK circuit
    /// <c>W_E W_QK W_Eᵀ</c>, as many keys as the task can put before B — and attending to A raises C — C is among the
    /// <c>n</c> highest outputs of A's row of the full OV circuit <c>W_E W_OV W_U</c>, where <c>n</c> is the number of
    /// distinct outputs the task planted for A. Both are ranks within a row, so neither circuit's scale matters.
    /// </summary>
    /// <exception cref="ArgumentException">The task's vocabulary differs from the model's.</exception>
    public static SkipTrigramRecall SkipTrigrams(TransformerWeights weights, HeadId head, SkipTrigramTask task)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(task);
        var vocab = weights.Config.DVocab;
        if (task.Vocab != vocab)
        {
            throw new ArgumentException($"The task has {task.Vocab} tokens but the model has d_vocab = {vocab}.", nameof(task));
        }

        var qk = HeadCircuits.FullQK(weights, head);
        var ov = HeadCircuits.FullOV(weights, head);
        var triggers = Enumerable.Range(task.Anchors, task.Triggers).ToArray();
        var triples = new List<PlantedSkipTrigram>();
        var keyRows = triggers.ToDictionary(b => b, b => qk.Row(b));
        for (var a = 0; a < task.Anchors; a++)
        {
            var anchor = a;
            var outRow = ov.Row(a);
            var outputs = triggers.Select(b => task.Output(anchor, b)).Distinct().Count();
            foreach (var b in triggers)
            {
                var c = task.Output(a, b);
                var keyRank = Rank(keyRows[b], a);
                var outRank = Rank(outRow, c);
                triples.Add(new PlantedSkipTrigram(a, b, c, keyRank, outRank, keyRank < task.Anchors && outRank < outputs));
            }
        }

        return new SkipTrigramRecall((double)triples.Count(t => t.Carried) / triples.Count, triples);
    }

    /// <summary>How many entries of <paramref name="row"/> beat entry <paramref name="index"/> (ties go to the smaller index).</summary>
    private static int Rank(MathNet.Numerics.LinearAlgebra.Vector<double> row, int index)
    {
        var rank = 0;
        for (var j = 0; j < row.Count; j++)
        {
            if (row[j] > row[index] || (row[j] == row[index] && j < index))
            {
                rank++;
            }
        }

        return rank;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }

        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }
}
