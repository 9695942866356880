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
    public static CopyingTable Compute(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        var p = UnembedEmbed(weights);
        var pf = FactoredMatrix.ToTensor(p);
        var eigen = new Complex[c.NLayers, c.NHeads][];
        for (var l = 0; l < c.NLayers; l++)
        {
            var b = weights.Blocks[l];
            for (var h = 0; h < c.NHeads; h++)
            {
                var id = new HeadId(l, h);
                var pv = FactoredMatrix.ToMatrix(Gemm.MatMul(pf, b.W_V[h]));
                var ba = HeadCircuits.Head(b.W_O, id) * pv;
                eigen[l, h] = ba.Evd().EigenValues.ToArray();
            }
        }

        return new CopyingTable(eigen);
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
