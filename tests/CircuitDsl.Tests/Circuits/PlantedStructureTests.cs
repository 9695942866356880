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
        // vocab 16: anchors 0-3, triggers 4 (copies the anchor) and 5 (maps it to a filler). W_E = W_U = I; the head's
        // query for trigger 4 attends to every anchor (QK[4, A] = 4) and attending to an anchor raises it (OV[A, A] = 2).
        // Its only positive skip-trigrams are the four "A … 4 → A"; for trigger 5 it has none, so the planted "A … 5 → C"
        // are not among its top four there.
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
            b.W_O[0, a, a] = 2f;
        }

        var recall = PlantedStructure.SkipTrigrams(w, new HeadId(0, 0), task);

        recall.Planted.Should().HaveCount(8);
        recall.Top.Should().HaveCount(8);
        recall.Found.Should().BeEquivalentTo(new[] { (0, 4, 0), (1, 4, 1), (2, 4, 2), (3, 4, 3) });
        recall.Fraction.Should().Be(0.5);
    }

    [Fact]
    public void Skip_trigram_recall_matches_a_brute_force_ranking_of_every_triple_per_trigger()
    {
        var task = new SkipTrigramTask(16, tableSeed: 4);
        var w = RandomWeights.Create(RandomWeights.Config(layers: 1, heads: 2, dModel: 8, dHead: 4, vocab: 16), seed: 21);
        var bl = w.Blocks[0];
        var qk = RandomWeights.Product(w.W_E, bl.W_Q[1], bl.W_K[1].Transpose(), w.W_E.Transpose());
        var ov = RandomWeights.Product(w.W_E, bl.W_V[1], bl.W_O[1], w.W_U);
        double Rms(double[,] m) => Math.Sqrt(m.Cast<double>().Sum(v => v * v)) / 16;
        var planted = (from a in Enumerable.Range(0, task.Anchors)
                       from t in Enumerable.Range(task.Anchors, task.Triggers)
                       select (a, t, task.Output(a, t))).ToList();
        var top = (from d in Enumerable.Range(task.Anchors, task.Triggers)
                   from best in (from s in Enumerable.Range(0, 16)
                                 from o in Enumerable.Range(0, 16)
                                 select (s, d, o, strength: Math.Min(qk[d, s] / Rms(qk), ov[s, o] / Rms(ov))))
                       .OrderByDescending(x => x.strength).Take(task.Anchors)
                   select (best.s, best.d, best.o)).ToHashSet();
        var expected = planted.Count(top.Contains) / (double)planted.Count;

        var recall = PlantedStructure.SkipTrigrams(w, new HeadId(0, 1), task);

        recall.Top.Select(t => (t.Source, t.Destination, t.Out)).Should().BeEquivalentTo(top);
        recall.Fraction.Should().Be(expected);
    }
}
