using Complex = System.Numerics.Complex;
using CircuitDsl.Circuits;
using FsCheck;
using FsCheck.Fluent;
using MathNet.Numerics.LinearAlgebra;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// Every FactoredMatrix result is compared with the same quantity of the explicit matrix A·B, computed here
/// directly with MathNet (dense SVD, dense EVD, entrywise sums): an independent reference.
/// </summary>
public sealed class FactoredMatrixTests
{
    /// <summary>A random factored matrix; rank is forced below r when <c>Deficient</c> by zeroing a column of A.</summary>
    public sealed record Case(int M, int R, int N, int Seed, bool Deficient)
    {
        public FactoredMatrix Build(bool square = false)
        {
            var rng = new Random(Seed);
            var n = square ? M : N;
            var a = Matrix<double>.Build.Dense(M, R, (_, _) => (rng.NextDouble() * 2) - 1);
            var b = Matrix<double>.Build.Dense(R, n, (_, _) => (rng.NextDouble() * 2) - 1);
            if (Deficient && R > 1)
            {
                a.SetColumn(0, a.Column(1) * 0.5);
            }

            return new FactoredMatrix(a, b);
        }

        public override string ToString() => $"m={M} r={R} n={N} seed={Seed} deficient={Deficient}";
    }

    private static readonly Arbitrary<Case> Cases = Arb.From(
        from m in Gen.Choose(1, 9)
        from r in Gen.Choose(1, 9)
        from n in Gen.Choose(1, 9)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        from deficient in Gen.Elements(false, true)
        select new Case(m, r, n, seed, deficient));

    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(60);

    private static void Check(Action<Case> property) => FsCheck.Check.One(Quick, Prop.ForAll(Cases, property));

    [Fact]
    public void Singular_values_match_the_explicit_matrix()
    {
        Check(c =>
        {
            var f = c.Build();
            var reference = f.AB().Svd(computeVectors: false).S.ToArray();
            var s = f.SingularValues();
            s.Length.Should().Be(Math.Min(Math.Min(c.M, c.N), c.R));
            for (var i = 0; i < s.Length; i++)
            {
                s[i].Should().BeApproximately(reference[i], 1e-9, "singular value {0} of {1}", i, c);
            }

            for (var i = s.Length; i < reference.Length; i++)
            {
                reference[i].Should().BeApproximately(0, 1e-9, "A·B has rank at most r");
            }
        });
    }

    [Fact]
    public void Svd_reconstructs_the_matrix_with_orthonormal_factors()
    {
        Check(c =>
        {
            var f = c.Build();
            var (u, s, v) = f.Svd();
            var rebuilt = u * Matrix<double>.Build.DenseOfDiagonalArray(s) * v.Transpose();
            (rebuilt - f.AB()).FrobeniusNorm().Should().BeLessThan(1e-9, "{0}", c);
            (u.TransposeThisAndMultiply(u) - Matrix<double>.Build.DenseIdentity(s.Length)).FrobeniusNorm().Should().BeLessThan(1e-9);
            (v.TransposeThisAndMultiply(v) - Matrix<double>.Build.DenseIdentity(s.Length)).FrobeniusNorm().Should().BeLessThan(1e-9);
        });
    }

    [Fact]
    public void Frobenius_norm_is_the_entrywise_norm_of_the_explicit_matrix()
    {
        Check(c =>
        {
            var f = c.Build();
            var explicitM = f.AB();
            var sum = 0.0;
            for (var i = 0; i < explicitM.RowCount; i++)
            {
                for (var j = 0; j < explicitM.ColumnCount; j++)
                {
                    sum += explicitM[i, j] * explicitM[i, j];
                }
            }

            f.FrobeniusNorm().Should().BeApproximately(Math.Sqrt(sum), 1e-9 * (1 + Math.Sqrt(sum)), "{0}", c);
        });
    }

    [Fact]
    public void Eigenvalues_are_the_nonzero_eigenvalues_of_the_explicit_matrix()
    {
        Check(c =>
        {
            var f = c.Build(square: true);
            var ours = f.Eigenvalues();
            ours.Length.Should().Be(c.R);
            var reference = f.AB().Evd().EigenValues.ToArray().ToList();

            // Every eigenvalue of BA is an eigenvalue of AB (zeros included when r > m); nonzero ones match
            // with multiplicity, so greedily pair each of ours with its nearest unused reference eigenvalue.
            foreach (var lambda in ours.OrderByDescending(z => z.Magnitude))
            {
                if (lambda.Magnitude < 1e-7 && reference.Count == 0)
                {
                    continue;
                }

                reference.Should().NotBeEmpty("{0}: more nonzero eigenvalues than A·B has", c);
                var nearest = reference.MinBy(z => (z - lambda).Magnitude);
                (nearest - lambda).Magnitude.Should().BeLessThan(1e-6 * (1 + lambda.Magnitude), "{0}", c);
                reference.Remove(nearest);
            }

            reference.Where(z => z.Magnitude >= 1e-6).Should().BeEmpty("the unmatched eigenvalues of A·B are zero ({0})", c);
        });
    }

    [Fact]
    public void Products_slices_and_transpose_agree_with_the_explicit_matrix()
    {
        Check(c =>
        {
            var f = c.Build();
            var rng = new Random(c.Seed ^ 0x5bd1e995);
            var m = f.AB();
            var left = Matrix<double>.Build.Dense(3, c.M, (_, _) => rng.NextDouble() - 0.5);
            var right = Matrix<double>.Build.Dense(c.N, 2, (_, _) => rng.NextDouble() - 0.5);
            var v = Vector<double>.Build.Dense(c.N, _ => rng.NextDouble());
            var w = Vector<double>.Build.Dense(c.M, _ => rng.NextDouble());

            var fr = f * right;
            fr.InnerDimension.Should().BeLessThanOrEqualTo(Math.Min(c.R, 2), "a product never grows the rank bound");
            (fr.AB() - (m * right)).FrobeniusNorm().Should().BeLessThan(1e-9);
            var lf = left * f;
            lf.InnerDimension.Should().BeLessThanOrEqualTo(Math.Min(c.R, 3));
            (lf.AB() - (left * m)).FrobeniusNorm().Should().BeLessThan(1e-9);
            ((f * f.Transpose()).AB() - (m * m.Transpose())).FrobeniusNorm().Should().BeLessThan(1e-9);
            (f.Multiply(v) - (m * v)).L2Norm().Should().BeLessThan(1e-9);
            (f.LeftMultiply(w) - (w * m)).L2Norm().Should().BeLessThan(1e-9);
            (f.Transpose().AB() - m.Transpose()).FrobeniusNorm().Should().BeLessThan(1e-12);

            var rowStart = c.M / 2;
            var colStart = c.N / 3;
            (f.RowSlice(rowStart, c.M - rowStart).AB() - m.SubMatrix(rowStart, c.M - rowStart, 0, c.N))
                .FrobeniusNorm().Should().BeLessThan(1e-12);
            (f.ColumnSlice(colStart, c.N - colStart).AB() - m.SubMatrix(0, c.M, colStart, c.N - colStart))
                .FrobeniusNorm().Should().BeLessThan(1e-12);
            (f.Row(c.M - 1) - m.Row(c.M - 1)).L2Norm().Should().BeLessThan(1e-12);
            (f.Column(c.N - 1) - m.Column(c.N - 1)).L2Norm().Should().BeLessThan(1e-12);
            f[c.M - 1, 0].Should().BeApproximately(m[c.M - 1, 0], 1e-12);
        });
    }

    [Fact]
    public void A_scaled_identity_has_the_known_spectrum()
    {
        // A = 2·I₃ (3×3), B = I₃ → M = 2·I: eigenvalues 2,2,2, singular values 2,2,2, norm 2·sqrt(3).
        var f = new FactoredMatrix(Matrix<double>.Build.DenseIdentity(3) * 2, Matrix<double>.Build.DenseIdentity(3));
        f.Eigenvalues().Should().AllSatisfy(z => (z - new Complex(2, 0)).Magnitude.Should().BeLessThan(1e-12));
        f.SingularValues().Should().AllSatisfy(s => s.Should().BeApproximately(2, 1e-12));
        f.FrobeniusNorm().Should().BeApproximately(2 * Math.Sqrt(3), 1e-12);
    }

    [Fact]
    public void Mismatched_factors_and_non_square_eigenvalues_are_refused_with_the_shapes()
    {
        var act = () => new FactoredMatrix(Matrix<double>.Build.Dense(2, 3), Matrix<double>.Build.Dense(4, 2));
        act.Should().Throw<ArgumentException>().WithMessage("*[2 × 3]*[4 × 2]*");
        var rect = new FactoredMatrix(Matrix<double>.Build.Dense(2, 3), Matrix<double>.Build.Dense(3, 4));
        rect.Invoking(r => r.Eigenvalues()).Should().Throw<InvalidOperationException>().WithMessage("*[2 × 4]*");
    }
}
