using MathNet.Numerics.LinearAlgebra;
using Complex = System.Numerics.Complex;

namespace CircuitDsl.Tensors;

/// <summary>
/// The eigenvalues (no eigenvectors) of a small dense nonsymmetric matrix: the one place the runtime computes them
/// (copying scores, <see cref="Circuits.FactoredMatrix.Eigenvalues"/>). LAPACK's <c>dgeev</c> with
/// <c>jobvl = jobvr = 'N'</c> from the OpenBLAS library the GEMM seam loads, when it exports LAPACK; MathNet's
/// managed eigenvalue decomposition otherwise. Both work in double precision; they may order the eigenvalues
/// differently, so callers must not depend on the order.
/// </summary>
internal static class Eigenvalues
{
    /// <summary>Whether <see cref="Of"/> uses LAPACK (OpenBLAS loaded and exporting <c>dgeev</c>).</summary>
    public static bool UsesLapack => OpenBlasLibrary.HasLapack;

    /// <summary>The <paramref name="n"/> eigenvalues of the row-major <c>[n × n]</c> matrix <paramref name="matrix"/>.</summary>
    /// <exception cref="ArgumentException">The span is not <c>n²</c> long, or an entry is NaN or infinite.</exception>
    public static Complex[] Of(ReadOnlySpan<double> matrix, int n) => UsesLapack ? Lapack(matrix, n) : Managed(matrix, n);

    /// <summary>The eigenvalues by LAPACK's <c>dgeev</c>. Requires <see cref="UsesLapack"/>.</summary>
    /// <exception cref="ArgumentException">As <see cref="Of"/>.</exception>
    /// <exception cref="InvalidOperationException">LAPACK's QR iteration did not converge.</exception>
    public static unsafe Complex[] Lapack(ReadOnlySpan<double> matrix, int n)
    {
        Check(matrix, n);
        if (n == 0)
        {
            return [];
        }

        // LAPACK reads column-major, i.e. our row-major matrix transposed: a transpose has the same eigenvalues.
        var a = matrix.ToArray();
        var values = new double[2 * n];
        byte job = (byte)'N';
        int size = n, one = 1, query = -1, info = 0;
        double optimal = 0, none = 0;
        fixed (double* pa = a)
        fixed (double* pv = values)
        {
            OpenBlasNative.dgeev(&job, &job, &size, pa, &size, pv, pv + n, &none, &one, &none, &one, &optimal, &query, &info, 1, 1);
            var lwork = Math.Max((int)optimal, 3 * n);
            var work = new double[lwork];
            fixed (double* pw = work)
            {
                OpenBlasNative.dgeev(&job, &job, &size, pa, &size, pv, pv + n, &none, &one, &none, &one, pw, &lwork, &info, 1, 1);
            }
        }

        if (info != 0)
        {
            throw new InvalidOperationException($"LAPACK dgeev failed on a {n} × {n} matrix (info = {info}).");
        }

        var result = new Complex[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = new Complex(values[i], values[n + i]);
        }

        return result;
    }

    /// <summary>The eigenvalues by MathNet's managed eigenvalue decomposition (the fallback without OpenBLAS).</summary>
    /// <exception cref="ArgumentException">As <see cref="Of"/>.</exception>
    public static Complex[] Managed(ReadOnlySpan<double> matrix, int n)
    {
        Check(matrix, n);
        return n == 0 ? [] : Matrix<double>.Build.DenseOfRowMajor(n, n, matrix.ToArray()).Evd().EigenValues.ToArray();
    }

    private static void Check(ReadOnlySpan<double> matrix, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (matrix.Length != n * n)
        {
            throw new ArgumentException($"A {n} × {n} matrix has {n * n} entries, not {matrix.Length}.", nameof(matrix));
        }

        for (var i = 0; i < matrix.Length; i++)
        {
            if (!double.IsFinite(matrix[i]))
            {
                throw new ArgumentException($"Entry ({i / n}, {i % n}) of the matrix is {matrix[i]}: eigenvalues need finite entries.", nameof(matrix));
            }
        }
    }
}
