using CircuitDsl.Model;
using CircuitDsl.Tensors;
using Complex = System.Numerics.Complex;

namespace CircuitDsl.Circuits;

/// <summary>
/// Copying scores (the paper; TransformerLens Main_Demo): <c>Re(Σ λ) / Σ |λ|</c> over the eigenvalues of the
/// full OV circuit <c>W_E · W_OV · W_U</c>. Near 1 the head raises the logit of the token it attends to; near
/// −1 it suppresses it. The eigenvalues come from the small <c>[d_head × d_head]</c> matrix
/// <c>B · A = W_O · (W_U · W_E) · W_V</c>, so d_vocab never enters beyond one <c>[d_model × d_model]</c> product
/// shared by every head.
/// </summary>
public static class CopyingScores
{
    /// <summary>
    /// How many vocabulary rows each float product of <c>W_U · W_E</c> covers before it is summed in double: large
    /// enough that the products run at the SGEMM ceiling, small enough that a float sum never runs over a whole
    /// 50k vocabulary.
    /// </summary>
    internal const int VocabChunk = 8192;

    /// <summary>
    /// Most columns of one <c>P · W_V</c> product (whole layers, at least one): wide enough to run at the SGEMM
    /// ceiling, narrow enough that the two <c>[d_model × columns]</c> buffers stay small for any model.
    /// </summary>
    private const int ColumnsPerProduct = 1536;

    /// <summary>Vocabulary rows of a not yet computed <c>W_U</c> or <c>W_E</c> computed at a time, on every core, for <see cref="UnembedEmbed"/>.</summary>
    private const int ComputeRows = 512;

    /// <summary><c>Re(Σ λ) / Σ |λ|</c>; NaN when every eigenvalue is zero.</summary>
    public static double Score(IReadOnlyCollection<Complex> eigenvalues)
    {
        ArgumentNullException.ThrowIfNull(eigenvalues);
        double sum = 0, abs = 0;
        foreach (var z in eigenvalues)
        {
            sum += z.Real;
            abs += z.Magnitude;
        }

        return abs == 0 ? double.NaN : sum / abs;
    }

    /// <summary>The copying score of a square factored matrix (e.g. <see cref="HeadCircuits.FullOV"/>).</summary>
    public static double Score(FactoredMatrix fullOV)
    {
        ArgumentNullException.ThrowIfNull(fullOV);
        return Score(fullOV.Eigenvalues());
    }

    /// <summary>Every head's full-OV eigenvalues and copying score.</summary>
    /// <remarks>
    /// <c>P = W_U · W_E</c> is formed once (<see cref="UnembedEmbed"/>); then, for a few layers at a time, one float
    /// product <c>P · [W_V of every head side by side]</c> on the kernel seam gives each head's <c>P · W_V</c>, and
    /// in parallel over the heads a one-thread float product <c>W_O · (P · W_V)</c> <c>[d_head × d_head]</c> and its
    /// eigenvalues in double (<see cref="Tensors.Eigenvalues"/>: LAPACK without eigenvectors where OpenBLAS is).
    /// </remarks>
    /// <exception cref="ArgumentException">A head's <c>W_O · P · W_V</c> is not finite (a weight is NaN or infinite, or the product overflows).</exception>
    public static CopyingTable Compute(TransformerWeights weights) => Compute(weights, ColumnsPerProduct);

    /// <summary><see cref="Compute(TransformerWeights)"/> with at most <paramref name="columnsPerProduct"/> columns of <c>W_V</c> per product.</summary>
    internal static CopyingTable Compute(TransformerWeights weights, int columnsPerProduct)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        int dm = c.DModel, k = c.DHead, heads = c.NHeads, width = heads * k;
        var p = UnembedEmbed(weights);
        var eigen = new Complex[c.NLayers, c.NHeads][];
        var layersPerProduct = Math.Clamp(columnsPerProduct / Math.Max(width, 1), 1, Math.Max(c.NLayers, 1));
        var values = new Tensor(dm, layersPerProduct * width);
        var pv = new Tensor(dm, layersPerProduct * width);
        for (var first = 0; first < c.NLayers; first += layersPerProduct)
        {
            var layers = Math.Min(layersPerProduct, c.NLayers - first);
            int columns = layers * width, stride = layersPerProduct * width;
            for (var l = 0; l < layers; l++)
            {
                var b = weights.Blocks[first + l];
                for (var h = 0; h < heads; h++)
                {
                    // W_V [heads, d_model, d_head] of these layers as [d_model, layers · heads · d_head].
                    var wv = b.W_V[h].Span;
                    for (var m = 0; m < dm; m++)
                    {
                        wv.Slice(m * k, k).CopyTo(values.Span.Slice((m * stride) + (l * width) + (h * k), k));
                    }
                }
            }

            Gemm.Sgemm(false, false, dm, columns, dm, 1f, p.Span, dm, values.Span, stride, 0f, pv.Span, stride);
            var firstLayer = first;
            Parallel.For(0, layers * heads, () => new float[k * k], (i, _, ba) =>
            {
                int l = firstLayer + (i / heads), h = i % heads;
                Gemm.Serial.Sgemm(false, false, k, k, dm, 1f, weights.Blocks[l].W_O[h].Span, dm,
                    pv.Span[(i * k)..], stride, 0f, ba, k);
                var wide = new double[k * k];
                var finite = true;
                for (var j = 0; j < wide.Length; j++)
                {
                    wide[j] = ba[j];
                    finite &= float.IsFinite(ba[j]);
                }

                // A head left without eigenvalues is reported after the loop (an exception here would arrive wrapped).
                if (finite)
                {
                    eigen[l, h] = Tensors.Eigenvalues.Of(wide, k);
                }
                return ba;
            }, _ => { });
        }

        for (var l = 0; l < c.NLayers; l++)
        {
            for (var h = 0; h < heads; h++)
            {
                if (eigen[l, h] is null)
                {
                    throw new ArgumentException(
                        $"The full OV circuit of head {new HeadId(l, h)} is not finite: a weight is NaN or infinite, or W_O·W_U·W_E·W_V overflows float.",
                        nameof(weights));
                }
            }
        }

        return new CopyingTable(eigen);
    }

    /// <summary>
    /// <c>W_U · W_E</c> <c>[d_model × d_model]</c>: float products over a few large chunks of the vocabulary on the
    /// kernel seam, summed in double, then rounded to float once. A <c>W_U</c> not yet computed — GPT-2's tied
    /// unembedding, processed or not — is computed a chunk at a time, its columns as rows, into a buffer and never held
    /// whole (<see cref="DeferredMatrix.CopyColumnsTransposed"/>: <c>W_E</c>'s rows, with no transposing), and so is a
    /// <c>W_E</c> not yet computed (such a model's, centred in place: <see cref="DeferredMatrix.CopyRows"/>), both on
    /// every core; held ones are read where they are.
    /// </summary>
    internal static Tensor UnembedEmbed(TransformerWeights weights)
    {
        int dm = weights.Config.DModel, vocab = weights.Config.DVocab;
        var sum = new double[dm * dm];
        var part = new float[dm * dm];
        // Equal chunks of at most VocabChunk rows, so no product is left with a small remainder.
        var chunks = Math.Max(1, (vocab + VocabChunk - 1) / VocabChunk);
        var chunk = (vocab + chunks - 1) / chunks;
        // W_U's columns as rows [n, d_model]: a tied W_U's are W_E's rows, read as they lie.
        var deferred = DeferredMatrix.IsPending(weights.W_U) ? new float[dm * Math.Min(chunk, vocab)] : null;
        var embedding = DeferredMatrix.IsPending(weights.W_E) ? new float[dm * Math.Min(chunk, vocab)] : null;
        for (var start = 0; start < vocab; start += chunk)
        {
            var n = Math.Min(chunk, vocab - start);
            if (deferred is not null || embedding is not null)
            {
                // Each vocabulary row is computed alone: blocks of them on every core.
                var first = start;
                Parallel.For(0, (n + ComputeRows - 1) / ComputeRows, b =>
                {
                    int offset = b * ComputeRows, rows = Math.Min(ComputeRows, n - offset);
                    if (deferred is not null)
                    {
                        DeferredMatrix.CopyColumnsTransposed(weights.W_U, first + offset, rows, deferred.AsSpan(offset * dm, rows * dm));
                    }

                    if (embedding is not null)
                    {
                        DeferredMatrix.CopyRows(weights.W_E, first + offset, rows, embedding.AsSpan(offset * dm, rows * dm));
                    }
                });
            }

            Gemm.Sgemm(deferred is not null, false, dm, dm, n, 1f, deferred ?? weights.W_U.Span[start..],
                deferred is null ? vocab : dm, embedding ?? weights.W_E.Span[(start * dm)..], dm, 0f, part, dm);

            // A loaded model's W_E is a mapped file: what is read is released behind the product (ResidentPages).
            ResidentPages.Release(weights.W_E.Memory.Slice(start * dm, n * dm));
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += part[i];
            }
        }

        ResidentPages.Release(weights.W_U.Memory);
        var p = new Tensor(dm, dm);
        var span = p.Span;
        for (var i = 0; i < sum.Length; i++)
        {
            span[i] = (float)sum[i];
        }

        return p;
    }
}

/// <summary>Every head's full-OV eigenvalues and copying score.</summary>
public sealed class CopyingTable
{
    private readonly Complex[,][] _eigenvalues;

    internal CopyingTable(Complex[,][] eigenvalues) => _eigenvalues = eigenvalues;

    /// <summary>The eigenvalues of the head's full OV circuit (those of <c>B · A</c>, d_head of them).</summary>
    public IReadOnlyList<Complex> Eigenvalues(HeadId head) => Of(head);

    /// <summary>The head's copying score <c>Re(Σ λ) / Σ |λ|</c>; NaN when every eigenvalue is zero.</summary>
    public double Score(HeadId head) => CopyingScores.Score(Of(head));

    private Complex[] Of(HeadId head)
    {
        int layers = _eigenvalues.GetLength(0), heads = _eigenvalues.GetLength(1);
        if (head.Layer < 0 || head.Layer >= layers || head.Head < 0 || head.Head >= heads)
        {
            throw new ArgumentOutOfRangeException(nameof(head), $"Head {head} is outside the model ({layers} layers × {heads} heads).");
        }

        return _eigenvalues[head.Layer, head.Head];
    }
}
