using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// <see cref="QkDecomposition"/>: its terms sum to the model's attention scores on every architecture, and on a model
/// without LayerNorm or biases its groups are what the forward pass gives when earlier heads are zeroed by hooks.
/// </summary>
public sealed class QkDecompositionTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];

    /// <summary>Every architecture with at least one layer (a model without layers has no attention scores).</summary>
    public static TheoryData<Normalization, bool, bool, int> Architectures()
    {
        var data = new TheoryData<Normalization, bool, bool, int>();
        foreach (var row in PathDecompositionTests.Architectures())
        {
            if ((int)row[3] > 0)
            {
                data.Add((Normalization)row[0], (bool)row[1], (bool)row[2], (int)row[3]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void The_terms_and_the_groups_each_sum_to_the_attention_scores(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 90 + layers);
        var e = QkDecomposition.Compute(w, Tokens, new HeadId(layers - 1, 1));

        e.Sources.Should().HaveCount(3 + ((layers - 1) * (w.Config.NHeads + (attnOnly ? 1 : 2))));
        ShouldEqual(Sum([.. from q in e.Sources from k in e.Sources select e.Term(q, k)]), e.Scores);
        ShouldEqual(Sum([e.Direct, e.QComposition, e.KComposition, e.Cross, e.Other]), e.Scores);
        if (layers == 1)
        {
            foreach (var group in new[] { e.QComposition, e.KComposition, e.Cross })
            {
                group.Span.ToArray().Should().OnlyContain(x => x == 0, "a layer-0 head reads no earlier head");
            }
        }
    }

    [Fact]
    public void Without_layernorm_or_biases_the_direct_term_is_the_score_with_every_earlier_head_zeroed()
    {
        var w = Unbiased(seed: 3);
        var head = new HeadId(2, 0);
        var e = QkDecomposition.Compute(w, Tokens, head);

        var hooks = new HookSet();
        for (var l = 0; l < head.Layer; l++)
        {
            hooks.Add(HookNames.Result(l), r => r.Span.Clear());
        }

        ShouldEqual(e.Direct, Scores(w, head, hooks));
        e.Other.Span.ToArray().Should().OnlyContain(x => Math.Abs(x) < 1e-6, "nothing but the heads and the embeddings wrote the stream");
        e.KComposition.Span.ToArray().Max(Math.Abs).Should().BeGreaterThan(1e-2f, "random heads compose");
    }

    [Fact]
    public void Keeping_one_earlier_head_adds_its_q_k_and_cross_terms_to_the_direct_term()
    {
        var w = Unbiased(seed: 4);
        var head = new HeadId(2, 1);
        var kept = new HeadId(0, 1);
        var e = QkDecomposition.Compute(w, Tokens, head);

        var hooks = new HookSet();
        for (var l = 0; l < head.Layer; l++)
        {
            var layer = l;
            hooks.Add(HookNames.Result(l), r =>
            {
                for (var h = 0; h < w.Config.NHeads; h++)
                {
                    if (new HeadId(layer, h) != kept)
                    {
                        ClearHead(r, h);
                    }
                }
            });
        }

        var x = QkSource.Of(kept);
        var embeddings = e.Sources.Where(s => s.IsEmbedding).ToArray();
        var expected = Sum([e.Direct, e.Term(x, x), .. embeddings.Select(s => e.Term(x, s)), .. embeddings.Select(s => e.Term(s, x))]);
        ShouldEqual(expected, Scores(w, head, hooks));
    }

    [Fact]
    public void An_unknown_part_or_a_head_outside_the_model_is_named()
    {
        var w = Unbiased(seed: 5);
        var e = QkDecomposition.Compute(w, Tokens, new HeadId(1, 0));

        var act = () => e.Term(QkSource.Of(new HeadId(1, 1)), QkSource.Embed);
        act.Should().Throw<ArgumentException>().WithMessage("Head 1.0's inputs have no part '1.1'*");
        var outside = () => QkDecomposition.Compute(w, Tokens, new HeadId(3, 0));
        outside.Should().Throw<ArgumentOutOfRangeException>().WithMessage("Head 3.0 is outside the model (3 layers × 2 heads)*");
    }

    /// <summary>A 3-layer attention-only model without LayerNorm whose every attention bias is zero.</summary>
    private static TransformerWeights Unbiased(int seed)
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 3, heads: 2, dModel: 8, dHead: 3), seed, scale: 0.7f);
        foreach (var block in w.Blocks)
        {
            foreach (var bias in new[] { block.b_Q, block.b_K, block.b_V, block.b_O })
            {
                bias.Span.Clear();
            }
        }

        return w;
    }

    private static void ClearHead(Tensor result, int head)
    {
        // hook_result is [batch, pos, n_heads, d_model].
        int heads = result.Dim(2), dm = result.Dim(3);
        for (var row = 0; row < result.Dim(0) * result.Dim(1); row++)
        {
            result.Span.Slice(((row * heads) + head) * dm, dm).Clear();
        }
    }

    /// <summary>The head's causal scores <c>[batch, q, k]</c> from a forward pass with <paramref name="hooks"/>; masked entries 0.</summary>
    private static Tensor Scores(TransformerWeights w, HeadId head, HookSet hooks)
    {
        Tensor? all = null;
        hooks.Add(HookNames.AttnScores(head.Layer), s => all = s.Select(1, head.Head));
        new HookedTransformer(w).Forward(Tokens, hooks);
        var n = Tokens[0].Length;
        var scores = new Tensor(Tokens.Length, n, n);
        for (var row = 0; row < Tokens.Length * n; row++)
        {
            all!.Span.Slice(row * n, (row % n) + 1).CopyTo(scores.Span.Slice(row * n, n));
        }

        return scores;
    }

    private static Tensor Sum(IReadOnlyList<Tensor> tensors)
    {
        var sum = new Tensor(tensors[0].Shape.ToArray());
        foreach (var t in tensors)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum.Span[i] += t.Span[i];
            }
        }

        return sum;
    }

    private static void ShouldEqual(Tensor actual, Tensor expected)
    {
        actual.Shape.ToArray().Should().Equal(expected.Shape.ToArray());
        var scale = Math.Max(1, expected.Span.ToArray().Max(Math.Abs));
        for (var i = 0; i < expected.Length; i++)
        {
            actual.Span[i].Should().BeApproximately(expected.Span[i], 1e-4f * scale, $"element {i}");
        }
    }
}
