using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

public sealed class PathDecompositionTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];

    public static TheoryData<Normalization, bool, bool, int> Architectures()
    {
        var data = new TheoryData<Normalization, bool, bool, int>();
        foreach (var norm in new[] { Normalization.LN, Normalization.LNPre, Normalization.None })
        {
            foreach (var attnOnly in new[] { true, false })
            {
                foreach (var shortformer in new[] { false, true })
                {
                    for (var layers = 0; layers <= 3; layers++)
                    {
                        data.Add(norm, attnOnly, shortformer, layers);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Every_term_sums_to_the_logits(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = Weights(norm, attnOnly, shortformer, layers, seed: 40 + layers);

        var decomposition = PathDecomposition.Compute(w, Tokens);

        decomposition.Rest.Should().BeNull();
        decomposition.Terms.Should().HaveCount((int)PathDecomposition.CountTerms(w.Config, null));
        decomposition.Terms.Any(t => t.Id.Source.Kind == PathSourceKind.PosEmbed).Should().Be(!shortformer, "shortformer positions reach no value");
        decomposition.Terms.Any(t => t.Id.Source.Kind == PathSourceKind.Mlp).Should().Be(!attnOnly && layers > 0);
        ShouldSumTo(decomposition.Terms.Select(t => t.Logits), new HookedTransformer(w).Forward(Tokens));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Listed_terms_up_to_an_order_and_the_rest_sum_to_the_logits_and_are_the_full_listings_terms(int order)
    {
        var w = Weights(Normalization.LN, attnOnly: false, shortformer: false, layers: 3, seed: 7);
        var full = PathDecomposition.Compute(w, Tokens);

        var partial = PathDecomposition.Compute(w, Tokens, order);

        partial.MaxOrder.Should().Be(order);
        partial.Terms.Should().OnlyContain(t => t.Id.Order <= order);
        partial.Terms.Should().HaveCount(full.Terms.Count(t => t.Id.Order <= order));
        ShouldSumTo(partial.Terms.Select(t => t.Logits).Append(partial.Rest!), new HookedTransformer(w).Forward(Tokens));
        foreach (var term in partial.Terms)
        {
            term.Logits.Span.ToArray().Should().Equal(full.Term(term.Id).Logits.Span.ToArray(), term.Id.ToString());
        }

        var restNorm = partial.Rest!.Span.ToArray().Max(Math.Abs);
        if (order >= 3)
        {
            restNorm.Should().Be(0, "a 3-layer model has no path of order 4");
        }
        else
        {
            restNorm.Should().BeGreaterThan(1e-3f, "the higher orders of random weights matter");
        }
    }

    [Theory]
    [InlineData(Normalization.LN, false)]
    [InlineData(Normalization.LNPre, true)]
    [InlineData(Normalization.None, true)]
    public void Term_importance_runs_from_the_order_0_terms_loss_to_the_models_loss(Normalization norm, bool attnOnly)
    {
        var w = Weights(norm, attnOnly, shortformer: false, layers: 2, seed: 11);
        var decomposition = PathDecomposition.Compute(w, Tokens);

        var importance = decomposition.Importance();

        importance.Select(x => x.Order).Should().Equal(0, 1, 2);
        importance[^1].Loss.Should().BeApproximately(Losses.NextTokenCrossEntropy(new HookedTransformer(w).Forward(Tokens), Tokens), 1e-4);
        var orderZero = new Tensor(Tokens.Length, Tokens[0].Length, 11);
        foreach (var term in decomposition.Terms.Where(t => t.Id.Order == 0))
        {
            for (var i = 0; i < orderZero.Length; i++)
            {
                orderZero.Span[i] += term.Logits.Span[i];
            }
        }

        importance[0].Loss.Should().BeApproximately(Losses.NextTokenCrossEntropy(orderZero, Tokens), 1e-4);
        importance[0].Loss.Should().NotBeApproximately(importance[^1].Loss, 1e-3, "the heads matter");
    }

    [Fact]
    public void Shares_are_squared_norms_over_their_sum_with_the_rest_last()
    {
        var w = Weights(Normalization.LN, attnOnly: false, shortformer: false, layers: 2, seed: 5);
        var decomposition = PathDecomposition.Compute(w, Tokens, maxOrder: 1);

        var shares = decomposition.Shares();

        shares.Should().HaveCount(decomposition.Terms.Count + 1);
        shares.SkipLast(1).Select(s => s.Id).Should().Equal(decomposition.Terms.Select(t => t.Id));
        shares[^1].Id.Should().BeNull("the rest is last");
        shares.Sum(s => s.Share).Should().BeApproximately(1, 1e-9);
        var embed = decomposition.Term(new PathId(PathSource.Embed));
        var norm = Math.Sqrt(embed.Logits.Span.ToArray().Sum(x => (double)x * x));
        shares[0].Norm.Should().BeApproximately(norm, 1e-6 * norm, "the norm from the Gram matrix of W_U is the materialised logits' (float rounding)");
        var total = shares.Sum(s => s.Norm * s.Norm);
        shares[0].Share.Should().BeApproximately(shares[0].Norm * shares[0].Norm / total, 1e-12);
    }

    [Fact]
    public void Too_many_terms_are_refused_with_a_hint_to_ask_for_a_lower_order()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 8, heads: 4), seed: 1);

        var act = () => PathDecomposition.Compute(w, Tokens);

        act.Should().Throw<ArgumentException>().WithMessage("This model has * paths of order up to 8, more than the 4096 terms*--order*");
        PathDecomposition.Compute(w, Tokens, maxOrder: 1).Terms.Should().HaveCount(
            2 * (1 + 32) + Enumerable.Range(0, 8).Sum(l => 1 + ((7 - l) * 4)) + 1, "embed and pos_embed, b0…b7 each alone and through a later head, b_U");
        var manyTokens = Enumerable.Range(0, 40_000).Select(_ => new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }).ToArray();
        FluentActions.Invoking(() => PathDecomposition.Compute(w, manyTokens, maxOrder: 1)).Should().Throw<ArgumentException>()
            .WithMessage("187 terms of 40000 × 9 × 11 logits would hold 7.4052E+08 floats, more than the 268435456 *: ask for a lower order (--order) or give fewer tokens.*");
        FluentActions.Invoking(() => PathDecomposition.Compute(w, Tokens, maxOrder: -1)).Should().Throw<ArgumentException>()
            .WithMessage("The largest path order must be 0 or more, not -1.*");
    }

    [Fact]
    public void Paths_are_typed_values_named_source_first_and_must_be_readable()
    {
        var path = new PathId(PathSource.Mlp(0), new HeadId(1, 2), new HeadId(3, 0));

        path.ToString().Should().Be("mlp0 → 1.2 → 3.0");
        path.Order.Should().Be(2);
        path.Should().Be(new PathId(PathSource.Mlp(0), [new HeadId(1, 2), new HeadId(3, 0)]));
        path.GetHashCode().Should().Be(new PathId(PathSource.Mlp(0), new HeadId(1, 2), new HeadId(3, 0)).GetHashCode());
        path.Should().NotBe(new PathId(PathSource.AttentionBias(0), new HeadId(1, 2), new HeadId(3, 0)));
        new PathId(PathSource.UnembedBias).ToString().Should().Be("b_U");
        new PathId(PathSource.PosEmbed, new HeadId(0, 1)).ToString().Should().Be("pos_embed → 0.1");
        FluentActions.Invoking(() => new PathId(PathSource.AttentionBias(1), new HeadId(1, 0))).Should().Throw<ArgumentException>()
            .WithMessage("No path b1 → 1.0: head 1.0 cannot read what is written at layer 1 or later.*");
        FluentActions.Invoking(() => new PathId(PathSource.Embed, new HeadId(1, 0), new HeadId(1, 1))).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new PathId(PathSource.UnembedBias, new HeadId(0, 0))).Should().Throw<ArgumentException>()
            .WithMessage("b_U is added after the last layer; no head reads it.*");
    }

    private static TransformerWeights Weights(Normalization norm, bool attnOnly, bool shortformer, int layers, int seed) =>
        RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed);

    /// <summary>The terms sum to the logits within 1e-4 of the largest logit's size.</summary>
    private static void ShouldSumTo(IEnumerable<Tensor> terms, Tensor logits)
    {
        var sum = new double[logits.Length];
        foreach (var term in terms)
        {
            term.HasShape(logits.Shape.ToArray()).Should().BeTrue();
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += term.Span[i];
            }
        }

        var scale = Math.Max(1, logits.Span.ToArray().Max(Math.Abs));
        for (var i = 0; i < sum.Length; i++)
        {
            sum[i].Should().BeApproximately(logits.Span[i], 1e-4 * scale, $"logit {i}");
        }
    }
}
