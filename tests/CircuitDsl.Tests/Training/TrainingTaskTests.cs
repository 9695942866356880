using CircuitDsl.Tasks;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Training;

public sealed class TrainingTaskTests
{
    [Fact]
    public void Bigram_sequences_follow_the_exposed_transition_matrix()
    {
        var task = new BigramTask(vocab: 5, chainSeed: 1);
        var rng = new Random(2);
        var counts = new double[5, 5];
        for (var s = 0; s < 400; s++)
        {
            var seq = task.Sample(rng, 50);
            for (var p = 1; p < seq.Length; p++)
            {
                counts[seq[p - 1], seq[p]]++;
            }
        }

        for (var a = 0; a < 5; a++)
        {
            task.Transitions[a].Sum().Should().BeApproximately(1, 1e-12);
            var total = Enumerable.Range(0, 5).Sum(b => counts[a, b]);
            for (var b = 0; b < 5; b++)
            {
                (counts[a, b] / total).Should().BeApproximately(task.Transitions[a][b], 0.02, $"P({b} | {a})");
            }
        }

        task.Transitions.Max(row => row.Max()).Should().BeGreaterThan(0.5, "rows are peaked");
    }

    [Fact]
    public void Markov_repeats_walk_the_bigram_chain_of_the_same_seed_and_repeat_one_segment()
    {
        var task = new MarkovRepeatsTask(vocab: 16, chainSeed: 3);
        var chain = new BigramTask(vocab: 16, chainSeed: 3);
        task.Chain.Transitions.Zip(chain.Transitions).Should().OnlyContain(rows => rows.First.SequenceEqual(rows.Second));
        var rng = new Random(4);
        for (var s = 0; s < 50; s++)
        {
            var seq = task.Sample(rng, 64);
            var repeated = Enumerable.Range(8, 16 - 8 + 1).Any(chunk =>
                Enumerable.Range(0, 64 - (2 * chunk) + 1).Any(source => Enumerable.Range(source + chunk, 64 - chunk - source - chunk + 1)
                    .Any(target => seq.AsSpan(source, chunk).SequenceEqual(seq.AsSpan(target, chunk)))));
            repeated.Should().BeTrue($"sequence {s} holds a segment of 8 to 16 tokens twice");
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(9)]
    public void Reversal_sequences_end_with_their_first_half_reversed(int length)
    {
        var rng = new Random(6);
        var seq = new ReversalTask(vocab: 10).Sample(rng, length);
        var half = length / 2;
        seq[^half..].Should().Equal(seq[(length - (2 * half))..(length - half)].Reverse());
    }

    [Fact]
    public void Skip_trigram_triggers_are_followed_by_the_output_for_the_sequences_anchor()
    {
        var task = new SkipTrigramTask(vocab: 32, tableSeed: 4);
        var rng = new Random(5);
        var triggersSeen = 0;
        for (var s = 0; s < 200; s++)
        {
            var seq = task.Sample(rng, 24);
            var anchors = seq.Where(t => t < task.Anchors).ToArray();
            anchors.Distinct().Should().HaveCount(1, "one anchor per sequence (copying triggers repeat it)");
            for (var p = 0; p + 1 < seq.Length; p++)
            {
                if (seq[p] >= task.Anchors && seq[p] < task.Anchors + task.Triggers)
                {
                    seq[p + 1].Should().Be(task.Output(anchors[0], seq[p]));
                    triggersSeen++;
                }
            }
        }

        triggersSeen.Should().BeGreaterThan(200);
        task.Output(3, task.Anchors).Should().Be(3, "the first half of the triggers copy the anchor");
    }

    [Fact]
    public void Repeated_token_rows_are_periodic_or_repeat_a_chunk()
    {
        var task = new RepeatedTokensTask(vocab: 64);
        var rng = new Random(6);
        var periodic = 0;
        for (var s = 0; s < 300; s++)
        {
            var seq = task.Sample(rng, 64);
            seq.Should().OnlyContain(t => t >= 0 && t < 64);
            var period = Enumerable.Range(6, 27).FirstOrDefault(per => Enumerable.Range(per, 64 - per).All(p => seq[p] == seq[p - per]));
            if (period > 0)
            {
                periodic++;
                continue;
            }

            LongestRepeat(seq).Should().BeGreaterThanOrEqualTo(8, "a chunk of at least length/8 recurs");
        }

        periodic.Should().BeInRange(120, 180);
    }

    [Fact]
    public void Tasks_are_created_by_name_and_unknown_names_are_refused()
    {
        TrainingTask.Names.Select(n => TrainingTask.Create(n, 32, 0).Name).Should().Equal(TrainingTask.Names);
        var act = () => TrainingTask.Create("trigram", 32, 0);
        act.Should().Throw<ArgumentException>().WithMessage("*'trigram'*bigram, skip-trigram, repeated-tokens*");
    }

    private static int LongestRepeat(int[] seq)
    {
        var best = 0;
        for (var i = 0; i < seq.Length; i++)
        {
            for (var j = i + 1; j < seq.Length; j++)
            {
                var n = 0;
                while (j + n < seq.Length && seq[i + n] == seq[j + n] && i + n < j)
                {
                    n++;
                }

                best = Math.Max(best, n);
            }
        }

        return best;
    }
}
