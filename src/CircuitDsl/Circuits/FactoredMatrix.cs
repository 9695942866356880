using Complex = System.Numerics.Complex;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace CircuitDsl.Circuits;

/// <summary>
/// A low-rank matrix <c>M = A · B</c> kept as its factors (TransformerLens's <c>FactoredMatrix</c>):
/// <c>A</c> is <c>[m × r]</c>, <c>B</c> is <c>[r × n]</c>. Products, slices, eigenvalues, the SVD and the
/// Frobenius norm are computed from the factors, so <c>W_E · W_OV · W_U</c> (a d_vocab × d_vocab matrix of
/// rank d_head) costs memory proportional to <c>(m + n) · r</c>. Only <see cref="AB"/> forms <c>M</c>.
/// </summary>
/// <remarks>Double precision throughout (MathNet.Numerics); float weights are widened on the way in.</remarks>
public sealed class FactoredMatrix
{
    private readonly Lazy<(Matrix<double> U, double[] S, Matrix<double> V)> _svd;

    /// <summary>The matrix <c>a · b</c>, kept factored.</summary>
    /// <exception cref="ArgumentException">The inner dimensions differ.</exception>
    public FactoredMatrix(Matrix<double> a, Matrix<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.ColumnCount != b.RowCount)
        {
            throw new ArgumentException(
                $"Factors do not chain: A is [{a.RowCount} × {a.ColumnCount}] and B is [{b.RowCount} × {b.ColumnCount}].",
                nameof(b));
        }

        A = a;
        B = b;
        _svd = new Lazy<(Matrix<double>, double[], Matrix<double>)>(ComputeSvd);
    }

    /// <summary>The left factor <c>[m × r]</c>.</summary>
    public Matrix<double> A { get; }

    /// <summary>The right factor <c>[r × n]</c>.</summary>
    public Matrix<double> B { get; }

    /// <summary>Rows of <c>M</c> (TransformerLens's <c>ldim</c>).</summary>
    public int Rows => A.RowCount;

    /// <summary>Columns of <c>M</c> (TransformerLens's <c>rdim</c>).</summary>
    public int Columns => B.ColumnCount;

    /// <summary>The inner dimension <c>r</c> (TransformerLens's <c>mdim</c>), an upper bound on the rank.</summary>
    public int InnerDimension => A.ColumnCount;

    /// <summary>A factored matrix from two float matrices (each a rank-2 <see cref="Tensor"/>).</summary>
    public static FactoredMatrix FromTensors(Tensor a, Tensor b) => new(ToMatrix(a), ToMatrix(b));

    /// <summary>A rank-2 float tensor as a double-precision matrix (a copy).</summary>
    public static Matrix<double> ToMatrix(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        t.RequireRank(2);
        int rows = t.Dim(0), cols = t.Dim(1);
        var data = new double[rows * cols];
        var span = t.Span;
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = span[i];
        }

        return Matrix<double>.Build.DenseOfRowMajor(rows, cols, data);
    }

    /// <summary>A double-precision matrix as a float tensor (rounded).</summary>
    public static Tensor ToTensor(Matrix<double> m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var t = new Tensor(m.RowCount, m.ColumnCount);
        var span = t.Span;
        for (var i = 0; i < m.RowCount; i++)
        {
            for (var j = 0; j < m.ColumnCount; j++)
            {
                span[(i * m.ColumnCount) + j] = (float)m[i, j];
            }
        }

        return t;
    }

    /// <summary>The explicit <c>[m × n]</c> matrix <c>A · B</c>. Only call this when the matrix is wanted.</summary>
    public Matrix<double> AB() => A * B;

    /// <summary>The small <c>[r × r]</c> matrix <c>B · A</c>; it has the same nonzero eigenvalues as <c>A · B</c>.</summary>
    /// <exception cref="InvalidOperationException"><c>M</c> is not square.</exception>
    public Matrix<double> BA()
    {
        RequireSquare("BA");
        return B * A;
    }

    /// <summary><c>Mᵀ = Bᵀ · Aᵀ</c>, still factored.</summary>
    public FactoredMatrix Transpose() => new(B.Transpose(), A.Transpose());

    /// <summary>
    /// <c>M · other</c>, factored with the smallest inner dimension of <c>r</c>, <c>n</c> (M's columns) and
    /// <paramref name="other"/>'s columns, so a product never grows the rank bound: <c>(A, B·X)</c>,
    /// <c>(A·B, X)</c> (only when <c>n &lt; r</c>, so <c>A·B</c> is no larger than <c>A</c>) or <c>(A·B·X, I)</c>.
    /// </summary>
    public FactoredMatrix Multiply(Matrix<double> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        RequireChain(Columns, other.RowCount, "M · X", other);
        int r = InnerDimension, n = Columns, k = other.ColumnCount;
        if (k < r && k < n)
        {
            return new FactoredMatrix(A * (B * other), Matrix<double>.Build.DenseIdentity(k));
        }

        return n < r ? new FactoredMatrix(AB(), other) : new FactoredMatrix(A, B * other);
    }

    /// <summary><c>other · M</c>, factored with the smallest inner dimension of <c>r</c>, <c>m</c> and <paramref name="other"/>'s rows.</summary>
    public FactoredMatrix LeftMultiply(Matrix<double> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        RequireChain(other.ColumnCount, Rows, "X · M", other);
        int r = InnerDimension, m = Rows, k = other.RowCount;
        if (k < r && k < m)
        {
            return new FactoredMatrix(Matrix<double>.Build.DenseIdentity(k), (other * A) * B);
        }

        return m < r ? new FactoredMatrix(other, AB()) : new FactoredMatrix(other * A, B);
    }

    /// <summary><c>M · other</c> for another factored matrix: <c>(M · other.A) · other.B</c>.</summary>
    public FactoredMatrix Multiply(FactoredMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Multiply(other.A).Multiply(other.B);
    }

    /// <summary>The column vector <c>M · v</c>, computed as <c>A · (B · v)</c>.</summary>
    public Vector<double> Multiply(Vector<double> v)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (v.Count != Columns)
        {
            throw new ArgumentException($"M is [{Rows} × {Columns}] but the vector has {v.Count} elements.", nameof(v));
        }

        return A * (B * v);
    }

    /// <summary>The row vector <c>v · M</c>, computed as <c>(v · A) · B</c>.</summary>
    public Vector<double> LeftMultiply(Vector<double> v)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (v.Count != Rows)
        {
            throw new ArgumentException($"M is [{Rows} × {Columns}] but the vector has {v.Count} elements.", nameof(v));
        }

        return (v * A) * B;
    }

    /// <summary><c>left · right</c> (see <see cref="Multiply(FactoredMatrix)"/>).</summary>
    public static FactoredMatrix operator *(FactoredMatrix left, FactoredMatrix right)
    {
        ArgumentNullException.ThrowIfNull(left);
        return left.Multiply(right);
    }

    /// <summary><c>left · right</c> (see <see cref="Multiply(Matrix{double})"/>).</summary>
    public static FactoredMatrix operator *(FactoredMatrix left, Matrix<double> right)
    {
        ArgumentNullException.ThrowIfNull(left);
        return left.Multiply(right);
    }

    /// <summary><c>left · right</c> (see <see cref="LeftMultiply(Matrix{double})"/>).</summary>
    public static FactoredMatrix operator *(Matrix<double> left, FactoredMatrix right)
    {
        ArgumentNullException.ThrowIfNull(right);
        return right.LeftMultiply(left);
    }

    /// <summary>Rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 of <c>M</c>, factored.</summary>
    public FactoredMatrix RowSlice(int start, int count)
    {
        CheckRange(start, count, Rows, "rows");
        return new FactoredMatrix(A.SubMatrix(start, count, 0, InnerDimension), B);
    }

    /// <summary>Columns <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 of <c>M</c>, factored.</summary>
    public FactoredMatrix ColumnSlice(int start, int count)
    {
        CheckRange(start, count, Columns, "columns");
        return new FactoredMatrix(A, B.SubMatrix(0, InnerDimension, start, count));
    }

    /// <summary>Row <paramref name="i"/> of <c>M</c> as a vector (<c>A[i] · B</c>).</summary>
    public Vector<double> Row(int i)
    {
        CheckRange(i, 1, Rows, "rows");
        return A.Row(i) * B;
    }

    /// <summary>Column <paramref name="j"/> of <c>M</c> as a vector (<c>A · B[:, j]</c>).</summary>
    public Vector<double> Column(int j)
    {
        CheckRange(j, 1, Columns, "columns");
        return A * B.Column(j);
    }

    /// <summary>The entry <c>M[i, j] = A[i] · B[:, j]</c>.</summary>
    public double this[int i, int j]
    {
        get
        {
            CheckRange(i, 1, Rows, "rows");
            CheckRange(j, 1, Columns, "columns");
            var sum = 0.0;
            for (var k = 0; k < InnerDimension; k++)
            {
                sum += A[i, k] * B[k, j];
            }

            return sum;
        }
    }

    /// <summary>
    /// The eigenvalues of <c>B · A</c> (TransformerLens's <c>eigenvalues</c>): the nonzero eigenvalues of
    /// <c>M</c>, padded with zeros to <c>r</c> when <c>r</c> exceeds the rank. Requires a square <c>M</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An entry of <c>B · A</c> is NaN or infinite.</exception>
    public Complex[] Eigenvalues()
    {
        var ba = BA();
        return Tensors.Eigenvalues.Of(ba.ToRowMajorArray(), ba.RowCount);
    }

    /// <summary>
    /// The thin SVD <c>M = U · diag(S) · Vᵀ</c> with <c>k = min(m, n, r)</c> singular values, descending.
    /// Computed from thin QR factorisations <c>A = Qa Ra</c>, <c>Bᵀ = Qb Rb</c> and the SVD of the small
    /// middle matrix <c>Ra · Rbᵀ</c>; <c>U</c> is <c>[m × k]</c>, <c>V</c> is <c>[n × k]</c>.
    /// </summary>
    public (Matrix<double> U, double[] S, Matrix<double> V) Svd() => _svd.Value;

    /// <summary>The singular values, descending (see <see cref="Svd"/>).</summary>
    public double[] SingularValues() => (double[])_svd.Value.S.Clone();

    /// <summary>
    /// The Frobenius norm <c>sqrt(Σ s²)</c>, from the small middle matrix of <see cref="Svd"/>:
    /// <c>‖A B‖ = ‖Ra Rbᵀ‖</c> because <c>Qa</c> and <c>Qb</c> have orthonormal columns. <c>M</c> is never formed.
    /// </summary>
    public double FrobeniusNorm()
    {
        var s = _svd.Value.S;
        var sum = 0.0;
        foreach (var x in s)
        {
            sum += x * x;
        }

        return Math.Sqrt(sum);
    }

    /// <inheritdoc />
    public override string ToString() => $"FactoredMatrix[{Rows} × {InnerDimension} × {Columns}]";

    private (Matrix<double> U, double[] S, Matrix<double> V) ComputeSvd()
    {
        var (a, b) = Compacted();
        var qa = a.QR(QRMethod.Thin);
        var qb = b.Transpose().QR(QRMethod.Thin);
        var middle = qa.R * qb.R.Transpose();
        var svd = middle.Svd(computeVectors: true);
        var k = Math.Min(middle.RowCount, middle.ColumnCount);
        var u = qa.Q * svd.U.SubMatrix(0, svd.U.RowCount, 0, k);
        var v = qb.Q * svd.VT.Transpose().SubMatrix(0, svd.VT.ColumnCount, 0, k);
        return (u, svd.S.SubVector(0, k).ToArray(), v);
    }

    /// <summary>Equivalent factors whose inner dimension is at most min(m, n), so both thin QRs are of tall matrices.</summary>
    private (Matrix<double> A, Matrix<double> B) Compacted()
    {
        if (InnerDimension <= Rows && InnerDimension <= Columns)
        {
            return (A, B);
        }

        return Rows <= Columns
            ? (Matrix<double>.Build.DenseIdentity(Rows), AB())
            : (AB(), Matrix<double>.Build.DenseIdentity(Columns));
    }

    private void RequireSquare(string what)
    {
        if (Rows != Columns)
        {
            throw new InvalidOperationException($"{what} needs a square matrix; this one is [{Rows} × {Columns}].");
        }
    }

    private void RequireChain(int left, int right, string what, Matrix<double> other)
    {
        if (left != right)
        {
            throw new ArgumentException(
                $"Cannot form {what}: M is [{Rows} × {Columns}] and X is [{other.RowCount} × {other.ColumnCount}].",
                nameof(other));
        }
    }

    private static void CheckRange(int start, int count, int size, string axis)
    {
        if (start < 0 || count < 0 || start + count > size)
        {
            throw new ArgumentOutOfRangeException(
                nameof(start), $"{axis} {start}…{start + count - 1} are outside 0…{size - 1}.");
        }
    }
}
