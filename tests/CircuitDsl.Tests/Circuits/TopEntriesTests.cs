using CircuitDsl.Circuits;
using CircuitDsl.Model;

namespace CircuitDsl.Tests.Circuits;

public sealed class TopEntriesTests
{
    [Fact]
    public void A_hand_built_head_has_the_skip_trigram_it_was_built_for()
    {
        // W_E = W_U = I (vocab = d_model = 5). Destination 2 attends to source 4 (QK[2,4] = 6), and attending to 4
        // raises the logit of 1 (OV[4,1] = 3). Every other entry is 0.
        var w = TransformerWeights.Zeros(RandomWeights.Config(layers: 1, heads: 1, dModel: 5, dHead: 2, vocab: 5, ctx: 4));
        for (var i = 0; i < 5; i++)
        {
            w.W_E[i, i] = 1f;
            w.W_U[i, i] = 1f;
        }

        var b = w.Blocks[0];
        b.W_Q[0, 2, 0] = 2f;
        b.W_K[0, 4, 0] = 3f;
        b.W_V[0, 4, 1] = 1f;
        b.W_O[0, 1, 1] = 3f;

        var top = TopEntries.SkipTrigrams(w, new HeadId(0, 0), 1).Single();

        (top.Source, top.Destination, top.Out).Should().Be((4, 2, 1));
        top.QK.Should().BeApproximately(6, 1e-12);
        top.OV.Should().BeApproximately(3, 1e-12);
        top.Strength.Should().BeApproximately(5, 1e-9, "each matrix has one nonzero entry, so its rms is that entry / 5");
    }

    [Fact]
    public void Skip_trigrams_and_bigrams_match_a_brute_force_ranking_of_the_explicit_matrices()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 1, heads: 2, dModel: 6, dHead: 3, vocab: 9), seed: 14);
        var head = new HeadId(0, 1);
        var b = w.Blocks[0];
        var qk = RandomWeights.Product(w.W_E, b.W_Q[1], b.W_K[1].Transpose(), w.W_E.Transpose());
        var ov = RandomWeights.Product(w.W_E, b.W_V[1], b.W_O[1], w.W_U);
        double Rms(double[,] m) => Math.Sqrt(m.Cast<double>().Sum(x => x * x)) / 9;
        var expected =
            (from s in Enumerable.Range(0, 9)
             let o = Enumerable.Range(0, 9).MaxBy(j => ov[s, j])
             from d in Enumerable.Range(0, 9)
             select (s, d, o, strength: Math.Min(qk[d, s] / Rms(qk), ov[s, o] / Rms(ov))))
            .OrderByDescending(x => x.strength).Take(5).ToList();

        var top = TopEntries.SkipTrigrams(w, head, 5);

        top.Select(t => (t.Source, t.Destination, t.Out)).Should().Equal(expected.Select(e => (e.s, e.d, e.o)));
        top.Zip(expected).Should().AllSatisfy(p => p.First.Strength.Should().BeApproximately(p.Second.strength, 1e-5));

        var bigram = RandomWeights.Product(w.W_E, w.W_U);
        var expectedBigrams = (from i in Enumerable.Range(0, 9) from j in Enumerable.Range(0, 9) select (i, j, v: bigram[i, j]))
            .OrderByDescending(x => x.v).Take(4).ToList();
        TopEntries.Bigrams(w, 4).Select(x => (x.Current, x.Next)).Should().Equal(expectedBigrams.Select(e => (e.i, e.j)));
    }
}
