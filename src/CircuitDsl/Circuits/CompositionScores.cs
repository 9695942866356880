using System.Numerics.Tensors;
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
    /// Every pair's score, for all three kinds. Each head is first reduced to a <c>[d_head × d_model]</c> writer
    /// <c>C(W_V) · W_O</c> and a <c>[d_model × d_head]</c> reader <c>A · C(Bᵀ)ᵀ</c>, where <c>C(X)</c> is a square
    /// root of the Gram matrix (<c>C(X)ᵀ C(X) = Xᵀ X</c>, from its eigendecomposition in double precision), so
    /// every Frobenius norm is unchanged; then one product per layer pair — the earlier layer's writers times the
    /// later layer's readers of all three kinds side by side — gives all the <c>‖L · R‖</c> on the kernel seam. Products are
    /// single precision: scores agree with the factored definition to about 1e-6.
    /// </summary>
    public static CompositionTable Compute(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        int layers = c.NLayers, heads = c.NHeads, dm = c.DModel, k = c.DHead, width = heads * k;

        // Writers [layer][heads · d_head, d_model], every layer's at once; readers [d_model, (kind, head, d_head)],
        // one later layer at a time, so the memory held is a few layers' worth, not the model's.
        var writers = new Tensor[layers];
        var writerNorms = new double[layers, heads];
        for (var l = 0; l < layers; l++)
        {
            writers[l] = new Tensor(width, dm);
        }

        var readerWidth = 3 * width;
        var readers = new Tensor(dm, readerWidth);
        var readerNorms = new double[3, heads];
        var product = new Tensor(width, readerWidth);
        var scores = new double[3, layers, heads, layers, heads];
        for (var l2 = 0; l2 < layers; l2++)
        {
            var to = l2;
            var b = weights.Blocks[l2];
            Parallel.For(0, heads, h =>
            {
                var gemm = Gemm.Serial;
                var rootQ = GramRoot(b.W_Q[h], ofColumns: true);
                var rootK = GramRoot(b.W_K[h], ofColumns: true);
                var rootV = GramRoot(b.W_V[h], ofColumns: true);
                var rootO = GramRoot(b.W_O[h], ofColumns: false);
                var writer = writers[to].Span.Slice(h * k * dm, k * dm);
                gemm.Sgemm(false, false, k, dm, k, 1f, rootV.Span, k, b.W_O[h].Span, dm, 0f, writer, dm);
                writerNorms[to, h] = Norm(writer, k, dm, dm);
                (Tensor Reads, Tensor Root)[] reader = [(b.W_Q[h], rootK), (b.W_K[h], rootQ), (b.W_V[h], rootO)];
                for (var kind = 0; kind < 3; kind++)
                {
                    var target = readers.Span[((kind * width) + (h * k))..];
                    gemm.Sgemm(false, true, dm, k, k, 1f, reader[kind].Reads.Span, k, reader[kind].Root.Span, k, 0f, target, readerWidth);
                    readerNorms[kind, h] = Norm(target, dm, k, readerWidth);
                }
            });

            for (var l1 = 0; l1 < l2; l1++)
            {
                // All three kinds of every head pair of (l1, l2) in one product.
                Gemm.MatMul(writers[l1], readers, product);
                var from = l1;
                Parallel.For(0, heads, h1 =>
                {
                    var rows = product.Span.Slice(h1 * k * readerWidth, k * readerWidth);
                    for (var kind = 0; kind < 3; kind++)
                    {
                        for (var h2 = 0; h2 < heads; h2++)
                        {
                            var norm = Norm(rows[((kind * width) + (h2 * k))..], k, k, readerWidth);
                            scores[kind, from, h1, to, h2] = norm / (writerNorms[from, h1] * readerNorms[kind, h2]);
                        }
                    }
                });
            }
        }

        return new CompositionTable(c, scores);
    }

    /// <summary>
    /// A square root <c>C</c> <c>[n × n]</c> of the Gram matrix of <paramref name="m"/>'s columns (<c>mᵀm</c>, n = columns)
    /// or rows (<c>m mᵀ</c>, n = rows), so <c>‖m · X‖ = ‖C · X‖</c> (columns) or <c>‖X · m‖ = ‖X · Cᵀ‖</c> (rows).
    /// The Gram matrix is summed in double and split by a symmetric eigendecomposition, which handles rank deficiency.
    /// </summary>
    internal static Tensor GramRoot(Tensor m, bool ofColumns)
    {
        int rows = m.Dim(0), cols = m.Dim(1);
        var n = ofColumns ? cols : rows;
        var gram = new double[n, n];
        var s = m.Span;
        if (ofColumns)
        {
            // Row by row, every entry of the Gram matrix gains row[i] · row[j]: the same sums, in the same order,
            // as the upper triangle alone, and exactly symmetric.
            var row = new double[cols];
            var flat = new double[n * n];
            for (var r = 0; r < rows; r++)
            {
                for (var j = 0; j < cols; j++)
                {
                    row[j] = s[(r * cols) + j];
                }

                for (var i = 0; i < cols; i++)
                {
                    var line = flat.AsSpan(i * n, n);
                    TensorPrimitives.MultiplyAdd(row, row[i], line, line);
                }
            }

            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    gram[i, j] = flat[(i * n) + j];
                }
            }
        }
        else
        {
            var wide = new double[rows * cols];
            for (var i = 0; i < wide.Length; i++)
            {
                wide[i] = s[i];
            }

            for (var i = 0; i < rows; i++)
            {
                for (var j = i; j < rows; j++)
                {
                    gram[i, j] = TensorPrimitives.Dot(wide.AsSpan(i * cols, cols), wide.AsSpan(j * cols, cols));
                }
            }

            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    gram[i, j] = gram[j, i];
                }
            }
        }

        var evd = Matrix<double>.Build.DenseOfArray(gram).Evd(Symmetricity.Symmetric);
        var root = new Tensor(n, n);
        for (var e = 0; e < n; e++)
        {
            var scale = Math.Sqrt(Math.Max(evd.EigenValues[e].Real, 0));
            for (var j = 0; j < n; j++)
            {
                root[e, j] = (float)(scale * evd.EigenVectors[j, e]);
            }
        }

        return root;
    }

    /// <summary>The Frobenius norm, in double, of a <paramref name="rows"/> × <paramref name="cols"/> block with row stride <paramref name="stride"/>.</summary>
    private static double Norm(ReadOnlySpan<float> data, int rows, int cols, int stride)
    {
        var sum = System.Numerics.Vector<double>.Zero;
        var tail = 0.0;
        for (var i = 0; i < rows; i++)
        {
            var row = data.Slice(i * stride, cols);
            var j = 0;
            for (; j <= cols - System.Numerics.Vector<float>.Count; j += System.Numerics.Vector<float>.Count)
            {
                System.Numerics.Vector.Widen(new System.Numerics.Vector<float>(row[j..]), out var low, out var high);
                sum += (low * low) + (high * high);
            }

            for (; j < cols; j++)
            {
                tail += (double)row[j] * row[j];
            }
        }

        return Math.Sqrt(System.Numerics.Vector.Sum(sum) + tail);
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
