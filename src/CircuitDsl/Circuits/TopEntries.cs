using CircuitDsl.Model;
using MathNet.Numerics.LinearAlgebra;

namespace CircuitDsl.Circuits;

/// <summary>A skip-trigram <c>[source] … [destination] → [out]</c> of a one-layer head (Elhage et al. 2021).</summary>
/// <param name="Source">The earlier token the head attends to.</param>
/// <param name="Destination">The current token, whose query attends.</param>
/// <param name="Out">The token whose logit the head raises most when it attends to <paramref name="Source"/>.</param>
/// <param name="QK">The full QK entry <c>[destination, source]</c> (an attention score before scaling by 1/sqrt(d_head)).</param>
/// <param name="OV">The full OV entry <c>[source, out]</c> (a logit).</param>
/// <param name="Strength">The ranking key: <c>min(QK / rms(QK), OV / rms(OV))</c> — both entries large relative to their matrix.</param>
public sealed record SkipTrigram(int Source, int Destination, int Out, double QK, double OV, double Strength);

/// <summary>An entry of the direct path <c>W_E · W_U</c>: token <paramref name="Current"/> raises the logit of <paramref name="Next"/>.</summary>
/// <param name="Current">The current token.</param>
/// <param name="Next">The predicted next token.</param>
/// <param name="Logit">The entry <c>(W_E · W_U)[current, next]</c>.</param>
public sealed record Bigram(int Current, int Next, double Logit);

/// <summary>
/// The largest entries of vocabulary-sized circuits, found row by row from their factors (one row of d_vocab
/// values at a time), so no d_vocab × d_vocab matrix is held.
/// </summary>
public static class TopEntries
{
    /// <summary>
    /// The <paramref name="k"/> strongest skip-trigrams of a head: for each source token its best output token
    /// (largest full-OV entry in its row), paired with every destination; ranked by <see cref="SkipTrigram.Strength"/>,
    /// where rms is a matrix's root-mean-square entry, <c>‖M‖_F / d_vocab</c>. Ties go to the smaller ids.
    /// </summary>
    /// <remarks>Meaningful for one-layer attention-only models, where these two circuits are the whole story of a head.</remarks>
    public static IReadOnlyList<SkipTrigram> SkipTrigrams(TransformerWeights weights, HeadId head, int k)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var qk = HeadCircuits.FullQK(weights, head);
        var ov = HeadCircuits.FullOV(weights, head);
        var vocab = weights.Config.DVocab;
        var rmsQk = qk.FrobeniusNorm() / vocab;
        var rmsOv = ov.FrobeniusNorm() / vocab;
        var best = new TopK<SkipTrigram>(k);
        for (var s = 0; s < vocab; s++)
        {
            var ovRow = ov.Row(s);
            var o = ovRow.MaximumIndex();
            var qkColumn = qk.Column(s);
            for (var d = 0; d < vocab; d++)
            {
                var strength = Math.Min(Ratio(qkColumn[d], rmsQk), Ratio(ovRow[o], rmsOv));
                best.Offer(strength, () => new SkipTrigram(s, d, o, qkColumn[d], ovRow[o], strength));
            }
        }

        return best.Sorted();
    }

    /// <summary>The <paramref name="k"/> largest entries of the direct path <c>W_E · W_U</c>. Ties go to the smaller ids.</summary>
    public static IReadOnlyList<Bigram> Bigrams(TransformerWeights weights, int k)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var direct = HeadCircuits.DirectPath(weights);
        var best = new TopK<Bigram>(k);
        for (var t = 0; t < weights.Config.DVocab; t++)
        {
            Vector<double> row = direct.Row(t);
            for (var n = 0; n < row.Count; n++)
            {
                var value = row[n];
                var current = t;
                var next = n;
                best.Offer(value, () => new Bigram(current, next, value));
            }
        }

        return best.Sorted();
    }

    private static double Ratio(double value, double rms) => rms == 0 ? 0 : value / rms;

    /// <summary>The k largest keys offered; among equal keys the first offered wins.</summary>
    private sealed class TopK<T>(int k)
    {
        private readonly PriorityQueue<T, (double Key, long Order)> _queue = new(
            Comparer<(double Key, long Order)>.Create((a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : b.Order.CompareTo(a.Order)));

        private long _order;

        public void Offer(double key, Func<T> make)
        {
            var priority = (key, _order++);
            if (_queue.Count < k)
            {
                _queue.Enqueue(make(), priority);
            }
            else if (_queue.TryPeek(out _, out var smallest) && _queue.Comparer.Compare(priority, smallest) > 0)
            {
                _queue.DequeueEnqueue(make(), priority);
            }
        }

        public IReadOnlyList<T> Sorted()
        {
            var items = new List<(T Item, (double, long) Priority)>();
            while (_queue.TryDequeue(out var item, out var priority))
            {
                items.Add((item, priority));
            }

            items.Reverse();
            return items.Select(i => i.Item).ToList();
        }
    }
}
