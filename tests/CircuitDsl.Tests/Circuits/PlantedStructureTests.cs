using CircuitDsl.Tasks;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Circuits;

public sealed class PlantedStructureTests
{
    [Fact]
    public void A_direct_path_built_from_the_chain_reproduces_it_exactly()
    {
        // W_E = I, W_U = log P: log_softmax of each row of W_E W_U is log P itself (its rows already normalise).
        var chain = new BigramTask(12, chainSeed: 5);
        var w = TransformerWeights.Zeros(RandomWeights.Config(layers: 0, heads: 1, dModel: 12, dHead: 1, vocab: 12, ctx: 4));
        for (var a = 0; a < 12; a++)
        {
            w.W_E[a, a] = 1f;
            for (var b = 0; b < 12; b++)
            {
                w.W_U[a, b] = (float)Math.Log(chain.Transitions[a][b]);
            }
        }

        var fit = PlantedStructure.DirectPathBigrams(w, chain);

        fit.Correlation.Should().BeApproximately(1, 1e-6);
        fit.MeanKl.Should().BeApproximately(0, 1e-5);
        fit.ModelLogProbs[3, 7].Should().BeApproximately((float)Math.Log(chain.Transitions[3][7]), 1e-4f);
    }

    [Fact]
    public void Bigram_correlation_and_KL_match_a_naive_double_precision_reference()
    {
        var chain = new BigramTask(9, chainSeed: 2);
        var w = RandomWeights.Create(RandomWeights.Config(layers: 0, heads: 1, dModel: 6, dHead: 1, vocab: 9), seed: 3);
        var logits = RandomWeights.Product(w.W_E, w.W_U);
        var x = new List<double>();
        var y = new List<double>();
        double kl = 0;
        for (var a = 0; a < 9; a++)
        {
            var row = Enumerable.Range(0, 9).Select(b => logits[a, b] + w.b_U.Span[b]).ToArray();
            var logZ = Math.Log(row.Sum(Math.Exp));
            for (var b = 0; b < 9; b++)
            {
                var p = chain.Transitions[a][b];
                x.Add(row[b] - logZ);
                y.Add(Math.Log(p));
                kl += p * (Math.Log(p) - (row[b] - logZ)) / 9;
            }
        }

        double mx = x.Average(), my = y.Average();
        var expected = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my))
            / Math.Sqrt(x.Sum(v => (v - mx) * (v - mx)) * y.Sum(v => (v - my) * (v - my)));

        var fit = PlantedStructure.DirectPathBigrams(w, chain);

        fit.Correlation.Should().BeApproximately(expected, 1e-6);
        fit.MeanKl.Should().BeApproximately(kl, 1e-6);
    }

    [Fact]
    public void A_pure_copying_skip_trigram_head_carries_exactly_the_copying_half_of_the_planted_triples()
    {
        // vocab 16: anchors 0-3, triggers 4 (copies the anchor) and 5 (maps it to a filler). W_E = W_U = I. The query of
        // both triggers prefers every anchor (QK[4, A] = QK[5, A] = 4, every other entry 0), and attending to an anchor
        // raises that anchor (OV[A, A] = 2). Each anchor has two planted outputs (itself, and its filler after 5), so a
        // triple is carried when A is in the top 4 keys of B's row and C in the top 2 outputs of A's row: "A … 4 → A"
        // is; "A … 5 → filler" is not (the filler's OV entry is 0, tied with 14 others and ranked after smaller ids,
        // unless it is the smallest of them, which no filler ≥ 6 is, since anchor ids 0-3 come first).
        var task = new SkipTrigramTask(16, tableSeed: 1);
        var w = TransformerWeights.Zeros(RandomWeights.Config(layers: 1, heads: 1, dModel: 16, dHead: 16, vocab: 16, ctx: 8));
        var b = w.Blocks[0];
        for (var i = 0; i < 16; i++)
        {
            w.W_E[i, i] = 1f;
            w.W_U[i, i] = 1f;
            b.W_Q[0, i, i] = 1f;
            b.W_V[0, i, i] = 1f;
        }

        for (var a = 0; a < task.Anchors; a++)
        {
            b.W_K[0, a, 4] = 4f;
            b.W_K[0, a, 5] = 4f;
            b.W_O[0, a, a] = 2f;
        }

        var recall = PlantedStructure.SkipTrigrams(w, new HeadId(0, 0), task);

        recall.Triples.Should().HaveCount(8);
        recall.Triples.Should().OnlyContain(t => t.KeyRank < 4, "both triggers' queries prefer every anchor");
        recall.Triples.Where(t => t.Carried).Select(t => (t.Anchor, t.Trigger, t.Output))
            .Should().BeEquivalentTo(new[] { (0, 4, 0), (1, 4, 1), (2, 4, 2), (3, 4, 3) });
        recall.Triples.Where(t => t.Trigger == 4).Should().OnlyContain(t => t.OutRank == 0);
        recall.Fraction.Should().Be(0.5);
    }

    [Fact]
    public void Skip_trigram_ranks_match_a_brute_force_ranking_of_the_explicit_circuits()
    {
        var task = new SkipTrigramTask(16, tableSeed: 4);
        var w = RandomWeights.Create(RandomWeights.Config(layers: 1, heads: 2, dModel: 8, dHead: 4, vocab: 16), seed: 21);
        var bl = w.Blocks[0];
        var qk = RandomWeights.Product(w.W_E, bl.W_Q[1], bl.W_K[1].Transpose(), w.W_E.Transpose());
        var ov = RandomWeights.Product(w.W_E, bl.W_V[1], bl.W_O[1], w.W_U);
        int Rank(double[,] m, int row, int column) => Enumerable.Range(0, 16).Count(j => m[row, j] > m[row, column]);
        var expected = (from a in Enumerable.Range(0, task.Anchors)
                        from t in Enumerable.Range(task.Anchors, task.Triggers)
                        let c = task.Output(a, t)
                        let outputs = Enumerable.Range(task.Anchors, task.Triggers).Select(x => task.Output(a, x)).Distinct().Count()
                        select (a, t, c, key: Rank(qk, t, a), @out: Rank(ov, a, c),
                            carried: Rank(qk, t, a) < task.Anchors && Rank(ov, a, c) < outputs)).ToList();

        var recall = PlantedStructure.SkipTrigrams(w, new HeadId(0, 1), task);

        recall.Triples.Select(x => (x.Anchor, x.Trigger, x.Output, x.KeyRank, x.OutRank, x.Carried)).Should().BeEquivalentTo(expected);
        recall.Fraction.Should().Be(expected.Count(e => e.carried) / (double)expected.Count);
        expected.Select(e => e.key).Distinct().Should().HaveCountGreaterThan(4, "random circuits give the ranks something to get wrong");
    }
}
