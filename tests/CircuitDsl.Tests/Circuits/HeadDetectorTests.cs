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
