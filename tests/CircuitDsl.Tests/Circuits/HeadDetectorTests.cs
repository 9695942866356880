using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Model;

namespace CircuitDsl.Tests.Circuits;

public sealed class HeadDetectorTests
{
    private static readonly HeadId H = new(0, 0);

    [Fact]
    public void The_default_batch_is_seeded_repeated_distinct_tokens_without_bos()
    {
        var config = RandomWeights.Config(vocab: 50, ctx: 16);
        var batch = HeadDetector.DefaultBatch(config);

        batch.Should().HaveCount(HeadDetector.DefaultBatchSize);
        foreach (var seq in batch)
        {
            seq.Should().HaveCount(14, "h has (16 − 1) / 2 = 7 tokens and the sequence is h + h");
            seq.Take(7).Should().OnlyHaveUniqueItems().And.Equal(seq.Skip(7));
            seq.Should().OnlyContain(t => t >= 0 && t < 50);
        }

        HeadDetector.DefaultBatch(config).Should().BeEquivalentTo(batch, o => o.WithStrictOrdering(), "it is seeded");
        batch.Select(s => s[0]).Distinct().Should().HaveCountGreaterThan(1, "sequences differ");
    }

    [Theory]
    [InlineData(64, 62)]
    [InlineData(257, 256)]
    [InlineData(258, 256)]
    [InlineData(1024, 256)]
    public void The_default_batch_repeats_at_most_128_tokens_so_long_contexts_stay_cheap(int ctx, int length)
    {
        var config = RandomWeights.Config(vocab: 50_257, ctx: ctx);
        var batch = HeadDetector.DefaultBatch(config);

        batch.Should().HaveCount(HeadDetector.DefaultBatchSize).And.OnlyContain(s => s.Length == length);
        foreach (var seq in batch)
        {
            seq.Take(length / 2).Should().OnlyHaveUniqueItems().And.Equal(seq.Skip(length / 2));
        }
    }

    [Fact]
    public void A_hand_built_previous_token_head_scores_one_on_previous_token_and_zero_on_induction()
    {
        const int vocab = 12, ctx = 9;
        var weights = HandBuilt.PreviousTokenCopier(vocab, ctx, logitScale: 1f);
        var tokens = HeadDetector.DefaultBatch(weights.Config);
        var (_, cache) = new HookedTransformer(weights).RunWithCache(tokens, n => n.EndsWith("hook_pattern", StringComparison.Ordinal));

        var scores = HeadDetector.Compute([cache.Pattern(0)], tokens);

        var n = tokens[0].Length;
        scores.Score(DetectorKind.PreviousToken, H).Should().BeApproximately(1, 1e-6);
        scores.Score(DetectorKind.Induction, H).Should().BeApproximately(0, 1e-6);
        scores.Score(DetectorKind.DuplicateToken, H).Should().BeApproximately(0, 1e-6);
        scores.TlMul(DetectorKind.PreviousToken, H).Should().BeApproximately((n - 1.0) / n, 1e-6,
            "TL's measure divides by every row, and row 0 has no previous token");
    }

    [Fact]
    public void A_perfect_induction_pattern_scores_one_and_tl_mul_caps_it_at_one_half()
    {
        int[][] tokens = [[5, 1, 7, 2, 5, 1, 7, 2], [0, 3, 4, 6, 0, 3, 4, 6]];
        var patterns = new Tensor(2, 1, 8, 8);
        for (var b = 0; b < 2; b++)
        {
            for (var i = 0; i < 8; i++)
            {
                // First half: attend to self. Second half: attend to the token after the earlier copy.
                patterns[b][0][i, i < 4 ? i : i - 3] = 1f;
            }
        }

        var before = patterns.Clone();
        var scores = HeadDetector.Compute([patterns], tokens);

        scores.Score(DetectorKind.Induction, H).Should().Be(1);
        scores.TlMul(DetectorKind.Induction, H).Should().Be(0.5);
        scores.Score(DetectorKind.DuplicateToken, H).Should().Be(0);
        scores.Score(DetectorKind.PreviousToken, H).Should().BeApproximately(0, 0, "i − 3 is never i − 1 here");
        patterns.Span.ToArray().Should().Equal(before.Span.ToArray(), "patterns are never modified");
    }

    [Fact]
    public void Rows_without_targets_are_left_out_and_a_sequence_without_any_gives_nan()
    {
        // One sequence of distinct tokens: no duplicate-token row at all.
        var patterns = new Tensor(1, 1, 3, 3);
        for (var i = 0; i < 3; i++)
        {
            patterns[0][0][i, 0] = 1f;
        }

        var scores = HeadDetector.Compute([patterns], [[1, 2, 3]]);

        double.IsNaN(scores.Score(DetectorKind.DuplicateToken, H)).Should().BeTrue();
        scores.Score(DetectorKind.PreviousToken, H).Should().Be(0.5, "row 1 puts all its mass on 0 (its target), row 2 none on 1");
    }

    /// <summary>Positions 0…5; rows 2, 4 and 5 have earlier copies (5 at 0; 3 at 1; 5 at 0 and 2), rows 0, 1 and 3 none.</summary>
    private static readonly int[] Repeats = [5, 3, 5, 7, 3, 5];

    /// <summary>
    /// A pattern <c>[6, 6]</c> on <see cref="Repeats"/>: rows 2, 4 and 5 put <paramref name="onCopies"/> on their earlier
    /// copies, split equally, and the rest on themselves; rows 0, 1 and 3 put everything on themselves.
    /// </summary>
    private static float[] CopiesAndSelf(float onCopies)
    {
        var a = new float[6 * 6];
        for (var i = 0; i < 6; i++)
        {
            a[(i * 6) + i] = 1f;
        }

        a[(2 * 6) + 0] = onCopies;
        a[(2 * 6) + 2] = 1f - onCopies;
        a[(4 * 6) + 1] = onCopies;
        a[(4 * 6) + 4] = 1f - onCopies;
        a[(5 * 6) + 0] = a[(5 * 6) + 2] = onCopies / 2;
        a[(5 * 6) + 5] = 1f - onCopies;
        return a;
    }

    /// <summary>
    /// The duplicate-token scores of one pattern on <see cref="Repeats"/>, from <see cref="HeadDetector.Score"/> and
    /// <see cref="HeadDetector.TlMulScore"/> and from the batched scorer behind <see cref="HeadDetector.Compute"/> (its own
    /// code, the one analyses use), which must agree to the bit.
    /// </summary>
    private static void DuplicateTokenScoresAre(float[] pattern, double score, double tlMul)
    {
        var detection = HeadDetector.DetectionPattern(DetectorKind.DuplicateToken, Repeats);
        var batched = HeadDetector.Compute([new Tensor(pattern, 1, 1, 6, 6)], [Repeats]);

        HeadDetector.Score(pattern, detection).Should().Be(score);
        HeadDetector.TlMulScore(pattern, detection).Should().Be(tlMul);
        batched.Score(DetectorKind.DuplicateToken, H).Should().Be(score);
        batched.TlMul(DetectorKind.DuplicateToken, H).Should().Be(tlMul);
    }

    [Theory]
    // a on the copies, 1 − a on itself: every row with a copy has mass a on its targets, so the mean over those three
    // rows is a (a wrong denominator of all six rows would give a / 2). TL's measure divides 3a by Σ A = 6 rows of 1.
    // Every value here is exact in binary, so the sums and quotients are too.
    [InlineData(1f, 1.0, 0.5)]
    [InlineData(0.75f, 0.75, 0.375)]
    [InlineData(0f, 0.0, 0.0)]
    public void A_pattern_with_mass_a_on_the_earlier_copies_and_the_rest_on_itself_scores_a(float a, double score, double tlMul)
    {
        Cells(HeadDetector.DetectionPattern(DetectorKind.DuplicateToken, Repeats)).Should().BeEquivalentTo([(2, 0), (4, 1), (5, 0), (5, 2)]);

        DuplicateTokenScoresAre(CopiesAndSelf(a), score, tlMul);
    }

    [Fact]
    public void The_duplicate_token_score_is_the_mean_over_rows_with_a_copy_of_each_rows_total_mass_on_its_copies()
    {
        var a = CopiesAndSelf(1f);
        a[(4 * 6) + 1] = a[(4 * 6) + 4] = 0.5f; // row 4: 0.5 on its copy
        a[(5 * 6) + 0] = 0.25f;                 // row 5: 0.25 on copy 0, nothing on copy 2, 0.75 on 3 (a 7, no copy)
        a[(5 * 6) + 2] = 0f;
        a[(5 * 6) + 3] = 0.75f;

        // Rows 2, 4, 5 carry 1, 0.5 and 0.25 on their copies: (1 + 0.5 + 0.25) / 3 = 7/12, not 1.75 / 4 (a mean over
        // targets) nor 1.75 / 6 (over every row), which is TL's measure: Σ(A ⊙ P) / Σ A = 1.75 / 6 = 7/24.
        // 1.75 / 3 and 1.75 / 6 round the same reals as 7 / 12 and 7 / 24.
        DuplicateTokenScoresAre(a, 7.0 / 12, 7.0 / 24);
    }

    [Fact]
    public void Detection_patterns_match_the_definitions()
    {
        int[] t = [4, 9, 4, 9];
        var dup = HeadDetector.DetectionPattern(DetectorKind.DuplicateToken, t);
        var ind = HeadDetector.DetectionPattern(DetectorKind.Induction, t);
        var prev = HeadDetector.DetectionPattern(DetectorKind.PreviousToken, t);
        Cells(dup).Should().BeEquivalentTo([(2, 0), (3, 1)]);
        Cells(ind).Should().BeEquivalentTo([(2, 1), (3, 2)]);
        Cells(prev).Should().BeEquivalentTo([(1, 0), (2, 1), (3, 2)]);
    }

    private static List<(int, int)> Cells(bool[,] p)
    {
        var cells = new List<(int, int)>();
        for (var i = 0; i < p.GetLength(0); i++)
        {
            for (var j = 0; j < p.GetLength(1); j++)
            {
                if (p[i, j])
                {
                    cells.Add((i, j));
                }
            }
        }

        return cells;
    }
}
