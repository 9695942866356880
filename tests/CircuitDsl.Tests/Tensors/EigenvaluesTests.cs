using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;
using Complex = System.Numerics.Complex;

namespace CircuitDsl.Tests.Tensors;

/// <summary>
/// The eigenvalues of small nonsymmetric matrices: LAPACK's <c>dgeev</c> and the managed fallback give the same
/// spectrum, which satisfies closed forms (trace, determinant, triangular and low-rank matrices).
/// </summary>
public sealed class EigenvaluesTests
{
    public static TheoryData<int, int> RandomCases() => new() { { 1, 1 }, { 2, 2 }, { 5, 3 }, { 17, 4 }, { 64, 5 } };

    [OpenBlasTheory]
    [MemberData(nameof(RandomCases))]
    public void Lapack_and_the_managed_fallback_agree_on_random_matrices_with_complex_pairs(int n, int seed)
    {
        var a = Random(n, n, seed);
        var matrix = a.ToRowMajorArray();

        var lapack = Eigenvalues.Lapack(matrix, n);
        var managed = Eigenvalues.Managed(matrix, n);

        Eigenvalues.UsesLapack.Should().BeTrue("OpenBLAS is loaded and Debian's build exports LAPACK");
        var scale = a.L2Norm();
        ShouldMatch(lapack, managed, 1e-9 * scale);
        // Closed forms: the sum is the trace and the product the determinant.
        lapack.Aggregate(Complex.Zero, (s, z) => s + z).Real.Should().BeApproximately(a.Trace(), 1e-12 * n * scale);
        var det = lapack.Aggregate(Complex.One, (p, z) => p * z);
        det.Real.Should().BeApproximately(a.Determinant(), 1e-10 * Math.Pow(scale, n));
        det.Imaginary.Should().BeApproximately(0, 1e-10 * Math.Pow(scale, n));
        if (n >= 5)
        {
            lapack.Should().Contain(z => Math.Abs(z.Imaginary) > 0.01 * scale, "a random real matrix this size has complex pairs");
        }
    }

    [OpenBlasFact]
    public void Lapack_called_from_many_threads_at_once_gives_exactly_the_serial_eigenvalues()
    {
        // CopyingScores solves its heads' eigenproblems in parallel: OpenBLAS's dgeev must not share state between callers.
        var matrices = Enumerable.Range(0, 128).Select(seed => Random(64, 64, 100 + seed).ToRowMajorArray()).ToArray();
        var serial = matrices.Select(m => Eigenvalues.Lapack(m, 64)).ToArray();

        for (var round = 0; round < 3; round++)
        {
            var parallel = new Complex[matrices.Length][];
            Parallel.For(0, matrices.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => parallel[i] = Eigenvalues.Lapack(matrices[i], 64));
            for (var i = 0; i < matrices.Length; i++)
            {
                parallel[i].Should().Equal(serial[i], $"matrix {i}, round {round}");
            }
        }
    }

    [OpenBlasFact]
    public void Both_give_the_diagonal_of_a_defective_triangular_matrix()
    {
        // A 3 × 3 Jordan block for 2 (one eigenvector for a triple eigenvalue), a 2 × 2 one for 0, and −1.5.
        var a = Matrix<double>.Build.DenseOfArray(new double[,]
        {
            { 2, 1, 0, 0.5, 0, 3 },
            { 0, 2, 1, 0, -1, 0 },
            { 0, 0, 2, 0, 0, 0.25 },
            { 0, 0, 0, 0, 1, 0 },
            { 0, 0, 0, 0, 0, 0 },
            { 0, 0, 0, 0, 0, -1.5 },
        });
        Complex[] expected = [2, 2, 2, 0, 0, -1.5];

        ShouldMatch(Eigenvalues.Lapack(a.ToRowMajorArray(), 6), expected, 1e-12);
        ShouldMatch(Eigenvalues.Managed(a.ToRowMajorArray(), 6), expected, 1e-12);
    }

    [OpenBlasTheory]
    [InlineData(12, 3, 6)]
    [InlineData(64, 16, 7)]
    public void Both_give_the_eigenvalues_of_the_small_product_and_zeros_on_a_rank_deficient_matrix(int n, int rank, int seed)
    {
        // A = U·V has rank r: its spectrum is that of V·U [r × r] (computed here by MathNet directly) plus n − r zeros.
        var u = Random(n, rank, seed);
        var v = Random(rank, n, seed + 100);
        var matrix = (u * v).ToRowMajorArray();
        var expected = (v * u).Evd().EigenValues.Concat(Enumerable.Repeat(Complex.Zero, n - rank)).ToArray();
        var tolerance = 1e-9 * u.L2Norm() * v.L2Norm();

        ShouldMatch(Eigenvalues.Lapack(matrix, n), expected, tolerance);
        ShouldMatch(Eigenvalues.Managed(matrix, n), expected, tolerance);
        ShouldMatch(Eigenvalues.Lapack(matrix, n), Eigenvalues.Managed(matrix, n), tolerance);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_entry_is_refused_by_both_routes(double value)
    {
        var matrix = Random(4, 4, 9).ToRowMajorArray();
        matrix[6] = value;

        var managed = () => Eigenvalues.Managed(matrix, 4);
        managed.Should().Throw<ArgumentException>().WithMessage($"Entry (1, 2) of the matrix is {value}*");
        if (OpenBlasGemm.IsAvailable)
        {
            var lapack = () => Eigenvalues.Lapack(matrix, 4);
            lapack.Should().Throw<ArgumentException>().WithMessage($"Entry (1, 2) of the matrix is {value}*");
        }
    }

    [Fact]
    public void A_span_of_the_wrong_length_is_refused()
    {
        var act = () => Eigenvalues.Of(new double[5], 2);

        act.Should().Throw<ArgumentException>().WithMessage("A 2 × 2 matrix has 4 entries, not 5.*");
    }

    private static Matrix<double> Random(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        return Matrix<double>.Build.Dense(rows, cols, (_, _) => (2 * rng.NextDouble()) - 1);
    }

    /// <summary>Each actual eigenvalue is paired with the nearest expected one not yet taken, within the tolerance.</summary>
    private static void ShouldMatch(IReadOnlyList<Complex> actual, IReadOnlyList<Complex> expected, double tolerance)
    {
        actual.Should().HaveSameCount(expected);
        var left = expected.ToList();
        foreach (var z in actual)
        {
            var nearest = left.MinBy(e => Complex.Abs(e - z));
            Complex.Abs(nearest - z).Should().BeLessThanOrEqualTo(tolerance, $"{z} is an eigenvalue (expected {string.Join(", ", expected)})");
            left.Remove(nearest);
        }
    }
}
