using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>Composition and copying scores on hand-built weights with known answers, and their invariances.</summary>
public sealed class ScoreTests
{
    private static readonly HeadId First = new(0, 0);
    private static readonly HeadId Second = new(1, 0);

    /// <summary>Two layers of one head each, d_model 8, d_head 4, all zero but what the callers set.</summary>
    private static TransformerWeights TwoHeads(Action<BlockWeights> first, Action<BlockWeights> second)
    {
        var w = TransformerWeights.Zeros(RandomWeights.Config(layers: 2, heads: 1, dModel: 8, dHead: 4, vocab: 8, ctx: 4));
        first(w.Blocks[0]);
        second(w.Blocks[1]);
        return w;
    }

    private static void Basis(Tensor stacked, int row, int col, float value = 1f) => stacked[0, row, col] = value;

    [Theory]
    [InlineData(2, 2, 1.0)]
    [InlineData(2, 5, 0.0)]
    public void Rank_one_v_composition_is_one_when_aligned_and_zero_when_orthogonal(int writes, int reads, double expected)
    {
        // W_OV(first) = 3·e0 e_writesᵀ, W_OV(second) = e_reads e0ᵀ: the product is 3·δ(writes, reads)·e0 e0ᵀ.
        var w = TwoHeads(
            b => { Basis(b.W_V, 0, 0); Basis(b.W_O, 0, writes, 3f); },
            b => { Basis(b.W_V, reads, 0); Basis(b.W_O, 0, 0); });

        var table = CompositionScores.Compute(w);

        table.Score(CompositionKind.V, First, Second).Should().BeApproximately(expected, 1e-6);
        CompositionScores.Score(w, CompositionKind.V, First, Second).Should().BeApproximately(expected, 1e-12);
    }

    [Theory]
    [InlineData(1, 1, 6, 1.0, 0.0)]
    [InlineData(1, 6, 1, 0.0, 1.0)]
    [InlineData(1, 4, 4, 0.0, 0.0)]
    public void Rank_one_q_and_k_composition_follow_which_side_reads_the_written_direction(
        int writes, int queryReads, int keyReads, double q, double k)
    {
        // W_QK(second) = e_queryReads e_keyReadsᵀ; Q-composition needs the query side to read what was written.
        var w = TwoHeads(
            b => { Basis(b.W_V, 0, 0); Basis(b.W_O, 0, writes); },
            b => { Basis(b.W_Q, queryReads, 0, 2f); Basis(b.W_K, keyReads, 0); });

        var table = CompositionScores.Compute(w);

        table.Score(CompositionKind.Q, First, Second).Should().BeApproximately(q, 1e-6);
        table.Score(CompositionKind.K, First, Second).Should().BeApproximately(k, 1e-6);
    }

    [Fact]
    public void Flat_rank_r_alignment_scores_exactly_one_over_sqrt_r()
    {
        // W_OV of both heads is the projection onto the first r = 4 dimensions: ‖P·P‖ / (‖P‖·‖P‖) = sqrt(r)/r.
        const int r = 4;
        var w = TwoHeads(
            b => { for (var i = 0; i < r; i++) { Basis(b.W_V, i, i, 0.5f); Basis(b.W_O, i, i, 4f); } },
            b => { for (var i = 0; i < r; i++) { Basis(b.W_V, i, i); Basis(b.W_O, i, i); } });

        var table = CompositionScores.Compute(w);

        table.Score(CompositionKind.V, First, Second).Should().BeApproximately(1 / Math.Sqrt(r), 1e-6);
        table.InBaselineUnits(CompositionKind.V, First, Second).Should().BeApproximately(Math.Sqrt(8.0 / r), 1e-5);
        table.RandomBaseline.Should().BeApproximately(1 / Math.Sqrt(8), 1e-15);
    }

    [Fact]
    public void Orthogonal_write_and_read_subspaces_do_not_compose()
    {
        var w = TwoHeads(
            b => { for (var i = 0; i < 4; i++) { Basis(b.W_V, i, i); Basis(b.W_O, i, i); } },
            b => { for (var i = 0; i < 4; i++) { Basis(b.W_V, 4 + i, i); Basis(b.W_O, i, i); Basis(b.W_Q, 4 + i, i); Basis(b.W_K, 4 + i, i); } });

        var table = CompositionScores.Compute(w);

        foreach (var kind in new[] { CompositionKind.Q, CompositionKind.K, CompositionKind.V })
        {
            table.Score(kind, First, Second).Should().BeApproximately(0, 1e-9, kind.ToString());
        }
    }

    [Fact]
    public void The_batched_table_agrees_with_the_factored_definition_across_row_blocks()
    {
        // d_model 40 walks the Gram identity's d_model² sum in blocks of 32 and 8 rows.
        var w = RandomWeights.Create(RandomWeights.Config(layers: 3, heads: 2, dModel: 40, dHead: 8), seed: 13);

        var entries = CompositionScores.Compute(w).Entries().ToList();

        entries.Should().HaveCount(3 * 12);
        entries.Should().AllSatisfy(e => e.Score.Should().BeApproximately(CompositionScores.Score(w, e.Kind, e.From, e.To), 1e-7, $"{e.Kind} {e.From}→{e.To}"));
    }

    [Fact]
    public void Dense_weights_whose_write_and_read_subspaces_are_orthogonal_score_zero()
    {
        // The first head writes into span(U), the second reads span(V), U ⟂ V, through dense random matrices in a
        // random basis: ⟨P, S⟩ is a sum of large terms that cancel, so the table must recompute these pairs exactly.
        const int dm = 40, dh = 4;
        var rotation = RandomWeights.Orthogonal(dm, seed: 3);
        var (u, v) = (rotation.SubMatrix(0, dm, 0, dh), rotation.SubMatrix(0, dm, dh, dh));
        var random = new Random(9);
        MathNet.Numerics.LinearAlgebra.Matrix<double> Dense(int rows, int cols) =>
            MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rows, cols, (_, _) => random.NextDouble() - 0.5);
        static void Set(Tensor t, MathNet.Numerics.LinearAlgebra.Matrix<double> m)
        {
            for (var i = 0; i < m.RowCount; i++)
            {
                for (var j = 0; j < m.ColumnCount; j++)
                {
                    t[i, j] = (float)m[i, j];
                }
            }
        }

        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 1, dModel: dm, dHead: dh), seed: 1);
        Set(w.Blocks[0].W_V[0], Dense(dm, dh));
        Set(w.Blocks[0].W_O[0], Dense(dh, dh) * u.Transpose());
        Set(w.Blocks[1].W_Q[0], v * Dense(dh, dh));
        Set(w.Blocks[1].W_K[0], v * Dense(dh, dh));
        Set(w.Blocks[1].W_V[0], v * Dense(dh, dh));

        var table = CompositionScores.Compute(w);

        foreach (var kind in new[] { CompositionKind.Q, CompositionKind.K, CompositionKind.V })
        {
            var factored = CompositionScores.Score(w, kind, First, Second);
            factored.Should().BeLessThan(1e-6, "the float weights are orthogonal up to rounding");
            table.Score(kind, First, Second).Should().BeApproximately(factored, 1e-9, kind.ToString());
        }
    }

    [Fact]
    public void The_batched_table_agrees_with_the_factored_definition_for_every_pair()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 3, heads: 3, dModel: 10, dHead: 4), seed: 7);

        var table = CompositionScores.Compute(w);

        var entries = table.Entries().ToList();
        entries.Should().HaveCount(3 * 27);
        foreach (var e in entries)
        {
            e.Score.Should().BeApproximately(CompositionScores.Score(w, e.Kind, e.From, e.To), 1e-6, $"{e.Kind} {e.From}→{e.To}");
            e.InBaselineUnits.Should().BeApproximately(e.Score * Math.Sqrt(10), 1e-9);
        }

        table.Invoking(t => t.Score(CompositionKind.Q, new HeadId(1, 0), new HeadId(1, 1)))
            .Should().Throw<ArgumentException>().WithMessage("*1.0*earlier layer*1.1*");
        table.Invoking(t => t.Score(CompositionKind.Q, new HeadId(0, 0), new HeadId(3, 0)))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*3.0*outside*");
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(-2.5, -1.0)]
    public void A_scaled_identity_ov_circuit_copies_or_anti_copies(float scale, double expected)
    {
        var w = IdentityEmbeddings(4);
        for (var i = 0; i < 4; i++)
        {
            w.Blocks[0].W_V[0, i, i] = 1f;
            w.Blocks[0].W_O[0, i, i] = scale;
        }

        var copying = CopyingScores.Compute(w);

        copying.Score(First).Should().BeApproximately(expected, 1e-12);
        CopyingScores.Score(HeadCircuits.FullOV(w, First)).Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void A_diagonal_ov_circuit_scores_the_sum_of_its_eigenvalues_over_their_absolute_sum()
    {
        var w = IdentityEmbeddings(4);
        float[] diagonal = [2f, 1f, -1f, 0.5f];
        for (var i = 0; i < 4; i++)
        {
            w.Blocks[0].W_V[0, i, i] = 1f;
            w.Blocks[0].W_O[0, i, i] = diagonal[i];
        }

        var copying = CopyingScores.Compute(w);

        copying.Score(First).Should().BeApproximately(2.5 / 4.5, 1e-12);
        copying.Eigenvalues(First).Select(z => z.Real).Order().Should().Equal(-1, 0.5, 1, 2);
    }

    [Fact]
    public void Copying_scores_equal_those_of_the_explicit_full_ov_matrix()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, dModel: 6, dHead: 3, vocab: 13), seed: 3);
        var copying = CopyingScores.Compute(w);
        for (var l = 0; l < 2; l++)
        {
            for (var h = 0; h < 2; h++)
            {
                var b = w.Blocks[l];
                var full = RandomWeights.Product(w.W_E, b.W_V[h], b.W_O[h], w.W_U);
                var eig = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(full).Evd().EigenValues;
                var expected = eig.Sum(z => z.Real) / eig.Sum(z => z.Magnitude);
                copying.Score(new HeadId(l, h)).Should().BeApproximately(expected, 1e-5, $"head {l}.{h}");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    public void Copying_over_a_vocabulary_of_several_chunks_matches_a_double_reference(int columnsPerProduct)
    {
        // Three vocabulary chunks; 0 columns per product is the default (every layer in one product), 5 one layer
        // per product, 9 two layers and then one.
        const int vocab = (2 * CopyingScores.VocabChunk) + 77;
        var config = RandomWeights.Config(layers: 3, heads: 2, dModel: 6, dHead: 2, vocab: vocab);
        var w = RandomWeights.Create(config, seed: 21);

        var copying = columnsPerProduct == 0 ? CopyingScores.Compute(w) : CopyingScores.Compute(w, columnsPerProduct);

        // P = W_U·W_E and W_O·P·W_V in double, eigenvalues by MathNet directly.
        var p = RandomWeights.Product(w.W_U, w.W_E);
        for (var l = 0; l < 3; l++)
        {
            for (var h = 0; h < 2; h++)
            {
                var b = w.Blocks[l];
                var ba = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(RandomWeights.ToArray(b.W_O[h]))
                    * MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(p)
                    * MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(RandomWeights.ToArray(b.W_V[h]));
                var eig = ba.Evd().EigenValues;
                var head = new HeadId(l, h);
                copying.Score(head).Should().BeApproximately(eig.Sum(z => z.Real) / eig.Sum(z => z.Magnitude), 1e-6, head.ToString());
                copying.Eigenvalues(head).Sum(z => z.Magnitude).Should().BeApproximately(eig.Sum(z => z.Magnitude), 1e-6 * eig.Sum(z => z.Magnitude));
            }
        }
    }

    [Fact]
    public void Copying_scores_refuse_non_finite_weights()
    {
        var w = RandomWeights.Create(RandomWeights.Config(), seed: 4);
        w.Blocks[1].W_O[1, 2, 3] = float.NaN;

        var act = () => CopyingScores.Compute(w);

        act.Should().Throw<ArgumentException>().WithMessage("The full OV circuit of head 1.1 is not finite*");
    }

    [Fact]
    public void Rotating_the_residual_stream_changes_no_composition_copying_or_detector_score()
    {
        var config = RandomWeights.Config(layers: 2, heads: 3, dModel: 7, dHead: 3, vocab: 12);
        var w = RandomWeights.Create(config, seed: 11);
        var rotated = CircuitDsl.Surgery.Rotation.RotateResidualStream(w, RandomWeights.Orthogonal(config.DModel, seed: 5));

        var (a, b) = (CompositionScores.Compute(w).Entries().ToList(), CompositionScores.Compute(rotated).Entries().ToList());
        a.Zip(b).Should().AllSatisfy(p => p.First.Score.Should().BeApproximately(p.Second.Score, 1e-5));
        a.Select(e => e.Score).Distinct().Should().HaveCountGreaterThan(10, "the scores are not trivially equal");

        var (ca, cb) = (CopyingScores.Compute(w), CopyingScores.Compute(rotated));
        for (var l = 0; l < 2; l++)
        {
            for (var h = 0; h < 3; h++)
            {
                cb.Score(new HeadId(l, h)).Should().BeApproximately(ca.Score(new HeadId(l, h)), 1e-5);
            }
        }

        var (da, db) = (new ModelAnalysis(w, WeightProcessingOptions.None).Detectors, new ModelAnalysis(rotated, WeightProcessingOptions.None).Detectors);
        foreach (var kind in Enum.GetValues<DetectorKind>())
        {
            for (var l = 0; l < 2; l++)
            {
                for (var h = 0; h < 3; h++)
                {
                    db.Score(kind, new HeadId(l, h)).Should().BeApproximately(da.Score(kind, new HeadId(l, h)), 1e-5);
                    db.TlMul(kind, new HeadId(l, h)).Should().BeApproximately(da.TlMul(kind, new HeadId(l, h)), 1e-5);
                }
            }
        }
    }

    /// <summary>One layer, one head, d_model = d_head = d_vocab = n, W_E = W_U = I.</summary>
    private static TransformerWeights IdentityEmbeddings(int n)
    {
        var w = TransformerWeights.Zeros(RandomWeights.Config(layers: 1, heads: 1, dModel: n, dHead: n, vocab: n, ctx: 3));
        for (var i = 0; i < n; i++)
        {
            w.W_E[i, i] = 1f;
            w.W_U[i, i] = 1f;
        }

        return w;
    }
}
