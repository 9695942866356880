using CircuitDsl.Circuits;
using CircuitDsl.Model;
using MathNet.Numerics.LinearAlgebra;

namespace CircuitDsl.Surgery;

/// <summary>
/// A linear map between the composite's residual stream (the first part's, the host) and one part's stream, in both
/// directions: <see cref="Reader"/> <c>[d_host, d_p]</c> takes the host's stream to what the part's readers expect, and
/// <see cref="Writer"/> <c>[d_p, d_host]</c> takes what the part writes into the host's stream. Each is the
/// least-squares solution on the embeddings the two models share: the rows of <c>W_E</c> (one per token) and of
/// <c>W_pos</c> (one per position). Only because the residual stream has no privileged basis can a part's heads work in
/// another model's stream at all; how well they do is measured, not assumed.
/// </summary>
/// <param name="Reader">Host stream → part stream, <c>[d_host, d_p]</c>.</param>
/// <param name="Writer">Part stream → host stream, <c>[d_p, d_host]</c>.</param>
/// <param name="ReaderResidual">Relative error of the reader on the embeddings, <c>‖X_host R − X_p‖ / ‖X_p‖</c> (0 for the host).</param>
/// <param name="WriterResidual">Relative error of the writer, <c>‖X_p M − X_host‖ / ‖X_host‖</c> (0 for the host).</param>
public sealed record StreamMap(Tensor Reader, Tensor Writer, double ReaderResidual, double WriterResidual)
{
    /// <summary>Relative ridge added to the normal equations, so a rank-deficient embedding still has one solution.</summary>
    private const double Ridge = 1e-6;

    /// <summary>The maps of every part into the first part's stream (the first is the identity).</summary>
    public static IReadOnlyList<StreamMap> Fit(IReadOnlyList<TransformerWeights> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var nCtx = parts.Min(w => w.Config.NCtx);
        var host = Embeddings(parts[0], nCtx);
        var maps = new List<StreamMap> { Identity(parts[0].Config.DModel) };
        for (var p = 1; p < parts.Count; p++)
        {
            var x = Embeddings(parts[p], nCtx);
            var (reader, readerError) = Solve(host, x);
            var (writer, writerError) = Solve(x, host);
            maps.Add(new StreamMap(FactoredMatrix.ToTensor(reader), FactoredMatrix.ToTensor(writer), readerError, writerError));
        }

        return maps;
    }

    private static StreamMap Identity(int d)
    {
        var eye = new Tensor(d, d);
        for (var i = 0; i < d; i++)
        {
            eye[i, i] = 1f;
        }

        return new StreamMap(eye, eye.Clone(), 0, 0);
    }

    /// <summary><c>[W_E; W_pos[:n_ctx]]</c>: the vectors both models put into their streams for the same inputs.</summary>
    private static Matrix<double> Embeddings(TransformerWeights w, int nCtx)
    {
        int vocab = w.Config.DVocab, d = w.Config.DModel;
        var m = Matrix<double>.Build.Dense(vocab + nCtx, d);
        for (var r = 0; r < vocab + nCtx; r++)
        {
            for (var j = 0; j < d; j++)
            {
                m[r, j] = r < vocab ? w.W_E[r, j] : w.W_pos[r - vocab, j];
            }
        }

        return m;
    }

    /// <summary>The ridge least-squares <c>argmin_R ‖A R − B‖²</c> and its relative error.</summary>
    private static (Matrix<double> Solution, double RelativeError) Solve(Matrix<double> a, Matrix<double> b)
    {
        var gram = a.TransposeThisAndMultiply(a);
        var lambda = Ridge * Math.Max(gram.Trace() / gram.RowCount, double.Epsilon);
        var solution = (gram + (lambda * Matrix<double>.Build.DenseIdentity(gram.RowCount))).Solve(a.TransposeThisAndMultiply(b));
        var norm = b.FrobeniusNorm();
        return (solution, norm == 0 ? 0 : ((a * solution) - b).FrobeniusNorm() / norm);
    }

}
