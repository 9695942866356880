using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;
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
    /// <summary>How many vocabulary rows each float product of <c>W_U · W_E</c> covers before it is summed in double.</summary>
    private const int VocabChunk = 512;

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
    /// Per layer, one float product <c>(W_U · W_E) · [W_V of every head side by side]</c> on the kernel seam gives
    /// each head's <c>W_U · W_E · W_V</c>; <c>W_O</c> times that is formed in double, and the heads' eigenvalue
    /// problems run in parallel.
    /// </remarks>
    public static CopyingTable Compute(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        int dm = c.DModel, k = c.DHead, heads = c.NHeads, width = heads * k;
        var pf = FactoredMatrix.ToTensor(UnembedEmbed(weights));
        var eigen = new Complex[c.NLayers, c.NHeads][];
        var values = new Tensor(dm, width);
        var pv = new Tensor(dm, width);
        for (var l = 0; l < c.NLayers; l++)
        {
            var b = weights.Blocks[l];
            for (var h = 0; h < heads; h++)
            {
                // W_V [heads, d_model, d_head] as [d_model, heads · d_head].
                var wv = b.W_V[h].Span;
                for (var m = 0; m < dm; m++)
                {
                    wv.Slice(m * k, k).CopyTo(values.Span.Slice((m * width) + (h * k), k));
                }
            }

            Gemm.MatMul(pf, values, pv);
            var layer = l;
            Parallel.For(0, heads, h =>
            {
                var ba = OutTimes(b.W_O[h].Span, pv.Span, dm, k, width, h * k);
                eigen[layer, h] = Matrix<double>.Build.DenseOfArray(ba).Evd().EigenValues.ToArray();
            });
        }

        return new CopyingTable(eigen);
    }

    /// <summary>
    /// <c>W_O[h] · PV[:, column … column + d_head)</c> <c>[d_head × d_head]</c> in double, for <paramref name="wo"/>
    /// <c>[d_head × d_model]</c> and <paramref name="pv"/> <c>[d_model × width]</c>.
    /// </summary>
    private static double[,] OutTimes(ReadOnlySpan<float> wo, ReadOnlySpan<float> pv, int dm, int k, int width, int column)
    {
        var right = new double[dm * k];
        for (var m = 0; m < dm; m++)
        {
            for (var j = 0; j < k; j++)
            {
                right[(m * k) + j] = pv[(m * width) + column + j];
            }
        }

        var result = new double[k, k];
        var row = new double[k];
        for (var i = 0; i < k; i++)
        {
            Array.Clear(row);
            for (var m = 0; m < dm; m++)
            {
                TensorPrimitives.MultiplyAdd(right.AsSpan(m * k, k), (double)wo[(i * dm) + m], row, row);
            }

            for (var j = 0; j < k; j++)
            {
                result[i, j] = row[j];
            }
        }

        return result;
    }

    /// <summary>
    /// <c>W_U · W_E</c> <c>[d_model × d_model]</c>: float products over chunks of the vocabulary on the kernel seam,
    /// summed in double so a 50k-token vocabulary does not accumulate float rounding.
    /// </summary>
    internal static Matrix<double> UnembedEmbed(TransformerWeights weights)
    {
        int dm = weights.Config.DModel, vocab = weights.Config.DVocab;
        var sum = new double[dm * dm];
        var part = new float[dm * dm];
        for (var start = 0; start < vocab; start += VocabChunk)
        {
            var n = Math.Min(VocabChunk, vocab - start);
            Gemm.Sgemm(false, false, dm, dm, n, 1f, weights.W_U.Span[start..], vocab,
                weights.W_E.Span[(start * dm)..], dm, 0f, part, dm);
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += part[i];
            }
        }

        return Matrix<double>.Build.DenseOfRowMajor(dm, dm, sum);
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
