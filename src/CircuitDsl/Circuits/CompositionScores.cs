using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// Q-, K- and V-composition scores (TransformerLens <c>composition_scores</c>; docs/math.md, "Composition scores"): for an earlier head h1
/// and a later head h2, <c>‖L · R‖_F / (‖L‖_F · ‖R‖_F)</c> with <c>L = W_OV(h1)</c> and <c>R = W_QK(h2)</c> (Q),
/// <c>W_QK(h2)ᵀ</c> (K) or <c>W_OV(h2)</c> (V). No baseline is subtracted; random matrices score about
/// <c>1/sqrt(d_model)</c> (<see cref="RandomBaseline"/>).
/// </summary>
public static class CompositionScores
{
    /// <summary>Rows of d_model per block of the writers' and readers' symmetric matrices.</summary>
    private const int RowBlock = 32;

    /// <summary>
    /// Below this cosine between a pair's P and S, single-precision rounding of ⟨P, S⟩ (relative to ‖P‖ · ‖S‖) could
    /// matter at 1e-6 in the score, and the pair is recomputed exactly.
    /// </summary>
    private const double CancellationCosine = 0.02;

    /// <summary>The score of random matrices, <c>1/sqrt(d_model)</c>: reports also give scores in these units.</summary>
    public static double RandomBaseline(int dModel) => 1.0 / Math.Sqrt(dModel);

    /// <summary>TransformerLens's <c>composition_scores(left, right)</c>: <c>‖left · right‖ / (‖left‖ · ‖right‖)</c>.</summary>
    public static double Score(FactoredMatrix left, FactoredMatrix right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return (left * right).FrobeniusNorm() / (left.FrobeniusNorm() * right.FrobeniusNorm());
    }

    /// <summary>The matrix the later head reads through: <c>W_QK</c> (Q), <c>W_QKᵀ</c> (K) or <c>W_OV</c> (V).</summary>
    public static FactoredMatrix Reader(TransformerWeights weights, CompositionKind kind, HeadId head) => kind switch
    {
        CompositionKind.Q => HeadCircuits.W_QK(weights, head),
        CompositionKind.K => HeadCircuits.W_QK(weights, head).Transpose(),
        CompositionKind.V => HeadCircuits.W_OV(weights, head),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown composition kind."),
    };

    /// <summary>One pair's score from the factored circuits; <paramref name="from"/> must be in an earlier layer.</summary>
    public static double Score(TransformerWeights weights, CompositionKind kind, HeadId from, HeadId to)
    {
        HeadCircuits.RequireEarlier(from, to);
        return Score(HeadCircuits.W_OV(weights, from), Reader(weights, kind, to));
    }

    /// <summary>
    /// Every pair's score, for all three kinds, without forming a single d_model × d_head² contraction per pair.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Each circuit is a product of a head's two weight matrices, so its squared Frobenius norm reduces to their
    /// d_head × d_head Gram matrices: with <c>G(X)</c> the Gram matrix of X's long side,
    /// <c>‖L · R‖² = ⟨P, S⟩</c> where <c>P = W_Oᵀ G(W_V) W_O</c> (the writer, d_model × d_model) and, for the reader
    /// <c>R = A Bᵀ</c> (<c>W_Q W_Kᵀ</c>, its transpose, or <c>W_V W_O</c>), <c>S = A G(B) Aᵀ</c>. Every pair's score is
    /// then one entry of the product of the writers' and readers' flattened symmetric matrices — d_model² / 2
    /// multiply-adds per pair instead of d_model · d_head² (10× fewer at d_model 768, d_head 64; with forming P and S,
    /// and the pairs the one wide product computes but nobody reads, ~50 GFLOP instead of 179 for 12 × 12 heads).
    /// </para>
    /// <para>
    /// The d_model² dimension is walked in blocks of <see cref="RowBlock"/> rows (the upper triangle only, the part
    /// off the diagonal counted twice), so memory stays a few blocks' worth; products are single precision on the
    /// kernel seam and the blocks are summed in double. ⟨P, S⟩ is a sum of signed terms, so when it is small next to
    /// <c>‖P‖ · ‖S‖</c> (cosine below <see cref="CancellationCosine"/>: nearly orthogonal write and read subspaces)
    /// rounding could dominate it, and that pair is recomputed exactly in double from the d_head × d_head product
    /// <c>W_O · A</c>. Scores agree with the factored definition to about 1e-6.
    /// </para>
    /// </remarks>
    public static CompositionTable Compute(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        int layers = c.NLayers, heads = c.NHeads, dm = c.DModel, k = c.DHead;
        var scores = new double[3, layers, heads, layers, heads];
        if (layers < 2)
        {
            return new CompositionTable(c, scores);
        }

        var grams = new HeadGrams[layers, heads];
        Parallel.For(0, layers * heads, i => grams[i / heads, i % heads] = new HeadGrams(weights.Blocks[i / heads], i % heads));

        // Writers: every head of layers 0 … L-2 (index l·heads + h). Readers: (layer, kind, head) of layers 1 … L-1.
        int writerCount = (layers - 1) * heads, readersPerLayer = 3 * heads, readerCount = (layers - 1) * readersPerLayer;
        var sums = new double[writerCount * readerCount];

        // Readers are formed a third at a time (there are three per writer), so the block buffers hold twice the
        // writers' block, not four times.
        var maxBlock = RowBlock * dm;
        var writerRows = new float[writerCount * maxBlock];
        var readerRows = new float[writerCount * maxBlock];
        var product = new float[writerCount * writerCount];

        // One rows × d_head scratch per worker thread, not one per head and block (~100 MB of garbage at 12 × 12 heads).
        float[] NewScratch() => new float[RowBlock * k];
        for (var r0 = 0; r0 < dm; r0 += RowBlock)
        {
            int rows = Math.Min(RowBlock, dm - r0), cols = dm - r0, length = rows * cols;
            Parallel.For(0, writerCount, NewScratch, (w, _, scratch) =>
            {
                // P[r0 …, r0 …] = (G(W_V) · W_O[:, block])ᵀ · W_O[:, r0 …]; the columns right of the block count twice.
                var gemm = Gemm.Serial;
                var o = weights.Blocks[w / heads].W_O[w % heads].Span;
                var target = writerRows.AsSpan(w * length, length);
                gemm.Sgemm(false, false, k, rows, k, 1f, grams[w / heads, w % heads].V.Span, k, o[r0..], dm, 0f, scratch, rows);
                gemm.Sgemm(true, false, rows, cols, k, 1f, scratch, rows, o[r0..], dm, 0f, target, cols);
                for (var r = 0; r < rows; r++)
                {
                    TensorPrimitives.Multiply(target.Slice((r * cols) + rows, cols - rows), 2f, target.Slice((r * cols) + rows, cols - rows));
                }

                return scratch;
            }, _ => { });

            for (var first = 0; first < readerCount; first += writerCount)
            {
                var from = first;
                Parallel.For(0, writerCount, NewScratch, (i, _, scratch) =>
                {
                    // S[r0 …, r0 …] = (A[block, :] · G(B)) · A[r0 …, :]ᵀ.
                    var gemm = Gemm.Serial;
                    var j = from + i;
                    var layer = 1 + (j / readersPerLayer);
                    var (a, g) = ReaderFactors(weights.Blocks[layer], grams[layer, j % heads], (CompositionKind)(j % readersPerLayer / heads), j % heads);
                    gemm.Sgemm(false, false, rows, k, k, 1f, a.Span[(r0 * k)..], k, g.Span, k, 0f, scratch, k);
                    gemm.Sgemm(false, true, rows, cols, k, 1f, scratch, k, a.Span[(r0 * k)..], k, 0f, readerRows.AsSpan(i * length, length), cols);
                    return scratch;
                }, _ => { });

                // ⟨P, S⟩ over this block for every writer and these readers in one product. Half the pairs have the writer
                // in the same or a later layer and are never read, but one wide product runs ~3× faster than a narrow one
                // per layer.
                Gemm.Sgemm(false, true, writerCount, writerCount, length, 1f, writerRows, length, readerRows, length, 0f, product, writerCount);
                for (var w = 0; w < writerCount; w++)
                {
                    var sum = sums.AsSpan((w * readerCount) + from, writerCount);
                    for (var i = 0; i < writerCount; i++)
                    {
                        sum[i] += product[(w * writerCount) + i];
                    }
                }
            }
        }

        Parallel.For(0, writerCount, w =>
        {
            int l1 = w / heads, h1 = w % heads;
            var writer = grams[l1, h1];
            for (var l2 = l1 + 1; l2 < layers; l2++)
            {
                for (var kind = 0; kind < 3; kind++)
                {
                    for (var h2 = 0; h2 < heads; h2++)
                    {
                        var reader = grams[l2, h2];
                        var inner = sums[(w * readerCount) + ((l2 - 1) * readersPerLayer) + (kind * heads) + h2];
                        var (readerNorm, readerGramNorm) = kind == (int)CompositionKind.V
                            ? (reader.OvNorm, reader.OvGramNorm)
                            : (reader.QkNorm, reader.QkGramNorm);
                        if (inner < CancellationCosine * writer.OvGramNorm * readerGramNorm)
                        {
                            var (a, g) = ReaderFactors(weights.Blocks[l2], reader, (CompositionKind)kind, h2);
                            inner = ExactInner(weights.Blocks[l1].W_O[h1], writer.V, a, g);
                        }

                        scores[kind, l1, h1, l2, h2] = Math.Sqrt(Math.Max(inner, 0)) / (writer.OvNorm * readerNorm);
                    }
                }
            }
        });

        return new CompositionTable(c, scores);
    }

    /// <summary>The reader <c>R = A · Bᵀ</c> of a kind as <c>A [d_model × d_head]</c> and <c>G(B)</c>.</summary>
    private static (Tensor A, Tensor Gram) ReaderFactors(BlockWeights block, HeadGrams grams, CompositionKind kind, int head) => kind switch
    {
        CompositionKind.Q => (block.W_Q[head], grams.K),
        CompositionKind.K => (block.W_K[head], grams.Q),
        _ => (block.W_V[head], grams.O),
    };

    /// <summary>
    /// <c>⟨P, S⟩ = ⟨G(W_V) · M, M · G(B)⟩</c> with <c>M = W_O · A</c> (d_head × d_head), all in double: no cancellation
    /// beyond double rounding, for the nearly orthogonal pairs.
    /// </summary>
    private static double ExactInner(Tensor wO, Tensor writerGram, Tensor a, Tensor readerGram)
    {
        int k = wO.Dim(0), dm = wO.Dim(1);
        var o = wO.Span;
        var aT = new double[k * dm];
        var span = a.Span;
        for (var t = 0; t < dm; t++)
        {
            for (var j = 0; j < k; j++)
            {
                aT[(j * dm) + t] = span[(t * k) + j];
            }
        }

        var m = new double[k * k];
        var row = new double[dm];
        for (var i = 0; i < k; i++)
        {
            for (var t = 0; t < dm; t++)
            {
                row[t] = o[(i * dm) + t];
            }

            for (var j = 0; j < k; j++)
            {
                m[(i * k) + j] = TensorPrimitives.Dot(row, aT.AsSpan(j * dm, dm));
            }
        }

        var left = Multiply(writerGram.Span, m, k, gramOnLeft: true);
        var right = Multiply(readerGram.Span, m, k, gramOnLeft: false);
        return TensorPrimitives.Dot(left, right);
    }

    /// <summary><c>G · M</c> (<paramref name="gramOnLeft"/>) or <c>M · G</c> for k × k matrices, in double.</summary>
    private static double[] Multiply(ReadOnlySpan<float> gram, double[] m, int k, bool gramOnLeft)
    {
        var result = new double[k * k];
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < k; j++)
            {
                double sum = 0;
                for (var t = 0; t < k; t++)
                {
                    sum += gramOnLeft ? gram[(i * k) + t] * m[(t * k) + j] : m[(i * k) + t] * gram[(t * k) + j];
                }

                result[(i * k) + j] = sum;
            }
        }

        return result;
    }

    /// <summary>
    /// A head's four d_head × d_head Gram matrices — <c>G(W_Q) = W_Qᵀ W_Q</c>, likewise K and V, and
    /// <c>G(W_O) = W_O W_Oᵀ</c> — as single-precision products on the one-thread kernel (each a sum over d_model, so
    /// rounding stays near 1e-7 relative), and from them, in double, the Frobenius norms of its circuits
    /// (<c>‖W_QK‖² = ⟨G(W_Q), G(W_K)⟩</c>) and of their symmetric squares
    /// (<c>‖W_Oᵀ G(W_V) W_O‖² = tr(G(W_V) G(W_O) G(W_V) G(W_O))</c>).
    /// </summary>
    private sealed class HeadGrams
    {
        public HeadGrams(BlockWeights block, int head)
        {
            Q = Gram(block.W_Q[head], ofColumns: true);
            K = Gram(block.W_K[head], ofColumns: true);
            V = Gram(block.W_V[head], ofColumns: true);
            O = Gram(block.W_O[head], ofColumns: false);
            var (q, k, v, o) = (ToDouble(Q), ToDouble(K), ToDouble(V), ToDouble(O));
            QkNorm = Math.Sqrt(TensorPrimitives.Dot(q, k));
            OvNorm = Math.Sqrt(TensorPrimitives.Dot(v, o));
            QkGramNorm = Math.Sqrt(SquaredNormOfProductSquare(q, k));
            OvGramNorm = Math.Sqrt(SquaredNormOfProductSquare(v, o));
        }

        public Tensor Q { get; }

        public Tensor K { get; }

        public Tensor V { get; }

        public Tensor O { get; }

        /// <summary><c>‖W_Q W_Kᵀ‖</c>.</summary>
        public double QkNorm { get; }

        /// <summary><c>‖W_V W_O‖</c>.</summary>
        public double OvNorm { get; }

        /// <summary><c>‖W_Q G(W_K) W_Qᵀ‖</c>, which is also <c>‖W_K G(W_Q) W_Kᵀ‖</c>.</summary>
        public double QkGramNorm { get; }

        /// <summary><c>‖W_Oᵀ G(W_V) W_O‖</c>, which is also <c>‖W_V G(W_O) W_Vᵀ‖</c>.</summary>
        public double OvGramNorm { get; }

        /// <summary>The Gram matrix of <paramref name="m"/>'s columns (<c>mᵀm</c>) or rows (<c>m mᵀ</c>).</summary>
        private static Tensor Gram(Tensor m, bool ofColumns)
        {
            int rows = m.Dim(0), cols = m.Dim(1);
            var n = ofColumns ? cols : rows;
            var gram = new Tensor(n, n);
            Gemm.Serial.Sgemm(ofColumns, !ofColumns, n, n, ofColumns ? rows : cols, 1f, m.Span, cols, m.Span, cols, 0f, gram.Span, n);
            return gram;
        }

        private static double[] ToDouble(Tensor t)
        {
            var values = new double[t.Length];
            TensorPrimitives.ConvertChecked<float, double>(t.Span, values);
            return values;
        }

        /// <summary><c>tr(A B A B) = ⟨A B, (A B)ᵀ⟩</c> for symmetric A and B.</summary>
        private static double SquaredNormOfProductSquare(double[] a, double[] b)
        {
            var n = (int)Math.Sqrt(a.Length);
            var ab = new double[n * n];
            for (var i = 0; i < n; i++)
            {
                for (var t = 0; t < n; t++)
                {
                    TensorPrimitives.MultiplyAdd(b.AsSpan(t * n, n), a[(i * n) + t], ab.AsSpan(i * n, n), ab.AsSpan(i * n, n));
                }
            }

            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    sum += ab[(i * n) + j] * ab[(j * n) + i];
                }
            }

            return sum;
        }
    }
}

/// <summary>A composition score between an earlier and a later head.</summary>
/// <param name="Kind">Q, K or V composition.</param>
/// <param name="From">The earlier (writing) head.</param>
/// <param name="To">The later (reading) head.</param>
/// <param name="Score">The raw score, 0…1.</param>
/// <param name="InBaselineUnits">The score divided by the random baseline <c>1/sqrt(d_model)</c>.</param>
public sealed record CompositionEntry(CompositionKind Kind, HeadId From, HeadId To, double Score, double InBaselineUnits);

/// <summary>All composition scores of a model (see <see cref="CompositionScores.Compute"/>).</summary>
public sealed class CompositionTable
{
    private readonly ModelConfig _config;
    private readonly double[,,,,] _scores;

    internal CompositionTable(ModelConfig config, double[,,,,] scores)
    {
        _config = config;
        _scores = scores;
        Writers = [.. Ablation.AllHeads(config).Where(h => h.Layer < config.NLayers - 1)];
        Readers = [.. Ablation.AllHeads(config).Where(h => h.Layer > 0)];
    }

    /// <summary>The heads a later head can read from: every head but the last layer's, by layer and head.</summary>
    public IReadOnlyList<HeadId> Writers { get; }

    /// <summary>The heads that can read an earlier head: every head but the first layer's, by layer and head.</summary>
    public IReadOnlyList<HeadId> Readers { get; }

    /// <summary>The largest score of any kind; 0 when the model has one layer.</summary>
    public double MaxScore => Entries().Select(e => e.Score).DefaultIfEmpty(0).Max();

    /// <summary>The random baseline <c>1/sqrt(d_model)</c> of this model.</summary>
    public double RandomBaseline => CompositionScores.RandomBaseline(_config.DModel);

    /// <summary>The score of <paramref name="from"/> → <paramref name="to"/>; <paramref name="from"/> must be in an earlier layer.</summary>
    public double Score(CompositionKind kind, HeadId from, HeadId to)
    {
        Check(from);
        Check(to);
        HeadCircuits.RequireEarlier(from, to);
        return _scores[(int)kind, from.Layer, from.Head, to.Layer, to.Head];
    }

    /// <summary>The score in units of the random baseline (the score times <c>sqrt(d_model)</c>).</summary>
    public double InBaselineUnits(CompositionKind kind, HeadId from, HeadId to) => Score(kind, from, to) / RandomBaseline;

    /// <summary>
    /// The scores of <paramref name="kind"/> as a matrix <c>[writer, reader]</c> over <see cref="Writers"/> ×
    /// <see cref="Readers"/>; NaN where the writer is not in an earlier layer than the reader.
    /// </summary>
    public double[,] Matrix(CompositionKind kind)
    {
        var matrix = new double[Writers.Count, Readers.Count];
        for (var i = 0; i < Writers.Count; i++)
        {
            for (var j = 0; j < Readers.Count; j++)
            {
                matrix[i, j] = Writers[i].Layer < Readers[j].Layer ? Score(kind, Writers[i], Readers[j]) : double.NaN;
            }
        }

        return matrix;
    }

    /// <summary>Every pair with the earlier head first, for Q, K and V (in that order), by layer and head.</summary>
    public IEnumerable<CompositionEntry> Entries()
    {
        foreach (var kind in new[] { CompositionKind.Q, CompositionKind.K, CompositionKind.V })
        {
            for (var l1 = 0; l1 < _config.NLayers; l1++)
            {
                for (var h1 = 0; h1 < _config.NHeads; h1++)
                {
                    for (var l2 = l1 + 1; l2 < _config.NLayers; l2++)
                    {
                        for (var h2 = 0; h2 < _config.NHeads; h2++)
                        {
                            var s = _scores[(int)kind, l1, h1, l2, h2];
                            yield return new CompositionEntry(kind, new HeadId(l1, h1), new HeadId(l2, h2), s, s / RandomBaseline);
                        }
                    }
                }
            }
        }
    }

    private void Check(HeadId head)
    {
        if (head.Layer < 0 || head.Layer >= _config.NLayers || head.Head < 0 || head.Head >= _config.NHeads)
        {
            throw new ArgumentOutOfRangeException(
                nameof(head), $"Head {head} is outside the model ({_config.NLayers} layers × {_config.NHeads} heads).");
        }
    }
}
