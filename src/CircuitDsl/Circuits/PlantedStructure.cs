using CircuitDsl.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Circuits;

/// <summary>How well the direct path reproduces a bigram chain (see <see cref="PlantedStructure.DirectPathBigrams"/>).</summary>
/// <param name="Correlation">Pearson correlation, over all <c>d_vocab²</c> entries, of the model's and the chain's log-probabilities.</param>
/// <param name="MeanKl">Mean over current tokens of <c>KL(P(·|a) ‖ Q(·|a))</c> in nats, P the chain, Q the direct path.</param>
/// <param name="ModelLogProbs"><c>log_softmax(W_E W_U + b_U)</c> <c>[current, next]</c>.</param>
/// <param name="TrueLogProbs"><c>log P(next | current)</c> of the chain <c>[current, next]</c>.</param>
public sealed record BigramFit(double Correlation, double MeanKl, Tensor ModelLogProbs, Tensor TrueLogProbs);

/// <summary>Which planted skip-trigrams a head ranks among its strongest (see <see cref="PlantedStructure.SkipTrigrams"/>).</summary>
/// <param name="Fraction">The fraction of <paramref name="Planted"/> found among <paramref name="Top"/>.</param>
/// <param name="Planted">The task's triples <c>(anchor, trigger, output)</c>.</param>
/// <param name="Top">For each trigger in turn, the head's strongest skip-trigrams ending at it, as many as the task planted per trigger.</param>
/// <param name="Found">The planted triples that are among <paramref name="Top"/>.</param>
public sealed record SkipTrigramRecall(
    double Fraction, IReadOnlyList<(int Source, int Destination, int Out)> Planted, IReadOnlyList<SkipTrigram> Top,
    IReadOnlyList<(int Source, int Destination, int Out)> Found);

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
    /// The task's planted triples "anchor … trigger → output" (all <c>Anchors × Triggers</c> of them) that are among
    /// the head's strongest skip-trigrams, as a fraction. For each trigger B (a destination), every (source, out) pair
    /// is ranked by the strength of the skip-trigram "source … B → out", <c>min(QK[B, source] / rms(QK),
    /// OV[source, out] / rms(OV))</c> over the full QK and OV circuits (as <see cref="TopEntries.SkipTrigrams(TransformerWeights, HeadId, int)"/>
    /// ranks them), and the <c>Anchors</c> strongest are kept: as many as the task planted for B. A head that carries
    /// every planted triple of a trigger scores 1 on it; ranking per trigger keeps one trigger with large query
    /// weights from crowding the others out. Ties go to the smaller ids.
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
        var ovRows = Enumerable.Range(0, vocab).Select(ov.Row).ToArray();
        var rmsQk = qk.FrobeniusNorm() / vocab;
        var rmsOv = ov.FrobeniusNorm() / vocab;
        var planted = new List<(int, int, int)>();
        var top = new List<SkipTrigram>();
        for (var b = task.Anchors; b < task.Anchors + task.Triggers; b++)
        {
            for (var a = 0; a < task.Anchors; a++)
            {
                planted.Add((a, b, task.Output(a, b)));
            }

            var queryRow = qk.Row(b);
            var candidates = new List<SkipTrigram>(vocab * vocab);
            for (var source = 0; source < vocab; source++)
            {
                for (var o = 0; o < vocab; o++)
                {
                    var strength = Math.Min(Ratio(queryRow[source], rmsQk), Ratio(ovRows[source][o], rmsOv));
                    candidates.Add(new SkipTrigram(source, b, o, queryRow[source], ovRows[source][o], strength));
                }
            }

            // A stable sort: among equal strengths the earlier (smaller source, then out) stays first.
            top.AddRange(candidates.OrderByDescending(c => c.Strength).Take(task.Anchors));
        }

        var ranked = top.Select(t => (t.Source, t.Destination, t.Out)).ToHashSet();
        var found = planted.Where(ranked.Contains).ToList();
        return new SkipTrigramRecall((double)found.Count / planted.Count, planted, top, found);
    }

    private static double Ratio(double value, double rms) => rms == 0 ? 0 : value / rms;

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
