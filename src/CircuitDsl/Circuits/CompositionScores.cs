using CircuitDsl.Model;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace CircuitDsl.Circuits;

/// <summary>
/// Q-, K- and V-composition scores (TransformerLens <c>composition_scores</c>, MATH.md): for an earlier head h1
/// and a later head h2, <c>‖L · R‖_F / (‖L‖_F · ‖R‖_F)</c> with <c>L = W_OV(h1)</c> and <c>R = W_QK(h2)</c> (Q),
/// <c>W_QK(h2)ᵀ</c> (K) or <c>W_OV(h2)</c> (V). No baseline is subtracted; random matrices score about
/// <c>1/sqrt(d_model)</c> (<see cref="RandomBaseline"/>).
/// </summary>
public static class CompositionScores
{
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
    /// Every pair's score, for all three kinds. Each head is first reduced to a <c>[k × d_model]</c> writer
    /// <c>Ŵ = C(W_V) · W_O</c> and a <c>[d_model × k]</c> reader <c>A · C(Bᵀ)ᵀ</c> (<c>C</c> the R factor of a
    /// thin QR, <c>k = min(d_head, d_model)</c>), which leave every Frobenius norm unchanged; then one product
    /// per layer pair on the kernel seam gives all the <c>‖L R‖</c>. Small steps are in double precision.
    /// </summary>
    public static CompositionTable Compute(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        int layers = c.NLayers, heads = c.NHeads;
        var k = Math.Min(c.DHead, c.DModel);
        var writers = new Tensor[layers];
        var writerNorms = new double[layers, heads];
        var readers = new Tensor[3, layers];
        var readerNorms = new double[3, layers, heads];
        for (var l = 0; l < layers; l++)
        {
            var b = weights.Blocks[l];
            writers[l] = new Tensor(heads * k, c.DModel);
            for (var kind = 0; kind < 3; kind++)
            {
                readers[kind, l] = new Tensor(c.DModel, heads * k);
            }

            for (var h = 0; h < heads; h++)
            {
                var id = new HeadId(l, h);
                var wq = HeadCircuits.Head(b.W_Q, id);
                var wk = HeadCircuits.Head(b.W_K, id);
                var wv = HeadCircuits.Head(b.W_V, id);
                var wo = HeadCircuits.Head(b.W_O, id);
                var writer = RowCompress(wv) * wo;
                writerNorms[l, h] = writer.FrobeniusNorm();
                Place(writer, writers[l], h * k, 0);
                Matrix<double>[] reader =
                [
                    wq * RowCompress(wk).Transpose(),
                    wk * RowCompress(wq).Transpose(),
                    wv * RowCompress(wo.Transpose()).Transpose(),
                ];
                for (var kind = 0; kind < 3; kind++)
                {
                    readerNorms[kind, l, h] = reader[kind].FrobeniusNorm();
                    Place(reader[kind], readers[kind, l], 0, h * k);
                }
            }
        }

        var scores = new double[3, layers, heads, layers, heads];
        for (var l1 = 0; l1 < layers; l1++)
        {
            for (var l2 = l1 + 1; l2 < layers; l2++)
            {
                for (var kind = 0; kind < 3; kind++)
                {
                    var product = Gemm.MatMul(writers[l1], readers[kind, l2]);
                    for (var h1 = 0; h1 < heads; h1++)
                    {
                        for (var h2 = 0; h2 < heads; h2++)
                        {
                            var norm = BlockNorm(product, h1 * k, h2 * k, k);
                            scores[kind, l1, h1, l2, h2] = norm / (writerNorms[l1, h1] * readerNorms[kind, l2, h2]);
                        }
                    }
                }
            }
        }

        return new CompositionTable(c, scores);
    }

    /// <summary>
    /// A matrix <c>C</c> with <c>‖a · X‖_F = ‖C · X‖_F</c> for every <c>X</c> and at most
    /// <c>min(rows, columns)</c> rows: the R factor of a thin QR when <paramref name="a"/> is tall, else itself.
    /// </summary>
    internal static Matrix<double> RowCompress(Matrix<double> a) =>
        a.RowCount >= a.ColumnCount ? a.QR(QRMethod.Thin).R : a;

    private static void Place(Matrix<double> source, Tensor target, int row, int col)
    {
        var cols = target.Dim(1);
        var span = target.Span;
        for (var i = 0; i < source.RowCount; i++)
        {
            for (var j = 0; j < source.ColumnCount; j++)
            {
                span[((row + i) * cols) + col + j] = (float)source[i, j];
            }
        }
    }

    private static double BlockNorm(Tensor product, int row, int col, int k)
    {
        var cols = product.Dim(1);
        var span = product.Span;
        var sum = 0.0;
        for (var i = 0; i < k; i++)
        {
            var r = span.Slice(((row + i) * cols) + col, k);
            foreach (var x in r)
            {
                sum += (double)x * x;
            }
        }

        return Math.Sqrt(sum);
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
    }

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
