using CircuitDsl.Circuits;
using CircuitDsl.Model;

namespace CircuitDsl.Tests.Circuits;

public sealed class PathExpansionTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void The_terms_and_biases_sum_to_the_logits(int layers)
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: layers, heads: 2, dModel: 8, dHead: 3, vocab: 11), seed: 30 + layers, scale: 0.7f);
        var expansion = PathExpansion.Create(w);

        var expectedTerms = 1 + (layers * 2) + (layers == 2 ? 4 : 0);
        expansion.Terms.Should().HaveCount(expectedTerms);
        var logits = new HookedTransformer(w).Forward(Tokens);
        var bias = expansion.BiasContribution().Span.ToArray();
        var sum = new double[logits.Length];
        foreach (var term in expansion.Terms)
        {
            var c = term.Contribution(Tokens).Span;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += c[i];
            }
        }

        for (var i = 0; i < sum.Length; i++)
        {
            (sum[i] + bias[i % 11]).Should().BeApproximately(logits.Span[i], 1e-4, $"logit {i}");
        }
    }

    [Fact]
    public void Virtual_heads_are_named_later_head_first_and_each_term_matters()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2), seed: 9);
        var expansion = PathExpansion.Create(w);

        expansion.Terms.Select(t => t.Name).Should().Equal(
            "direct", "L0H0", "L0H1", "L1H0", "L1H1", "L1H0_L0H0", "L1H0_L0H1", "L1H1_L0H0", "L1H1_L0H1");
        foreach (var term in expansion.Terms)
        {
            term.Contribution(Tokens).Span.ToArray().Should().Contain(x => Math.Abs(x) > 1e-3, term.Name);
        }
    }

    [Fact]
    public void Terms_are_found_by_their_typed_ids_which_carry_the_paper_names()
    {
        var expansion = PathExpansion.Create(RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2), seed: 9));

        expansion.Terms.Select(t => expansion.Term(t.Id)).Should().Equal(expansion.Terms, "every term is found by its own id");
        var virtualHead = expansion.Term(PathTermId.Virtual(new HeadId(0, 1), new HeadId(1, 0)));
        virtualHead.Name.Should().Be("L1H0_L0H1");
        virtualHead.Kind.Should().Be(PathTermKind.VirtualHead);
        virtualHead.Heads.Should().Equal(new HeadId(0, 1), new HeadId(1, 0));
        expansion.Term(PathTermId.Head(new HeadId(1, 1))).Name.Should().Be("L1H1");
        expansion.Term(PathTermId.Direct).Heads.Should().BeEmpty();
        PathTermId.Direct.ToString().Should().Be("direct");
        PathTermId.Head(new HeadId(0, 1)).Should().Be(PathTermId.Head(new HeadId(0, 1))).And.NotBe(PathTermId.Head(new HeadId(1, 0)));
    }

    [Fact]
    public void A_term_the_model_does_not_have_is_refused()
    {
        var expansion = PathExpansion.Create(RandomWeights.Create(RandomWeights.Config(layers: 1, heads: 2), seed: 9));

        expansion.Invoking(e => e.Term(PathTermId.Head(new HeadId(0, 2)))).Should().Throw<ArgumentException>()
            .WithMessage("This model's path expansion has no term L0H2.*");
        FluentActions.Invoking(() => PathTermId.Virtual(new HeadId(1, 0), new HeadId(0, 1))).Should().Throw<ArgumentException>()
            .WithMessage("A virtual head goes from an earlier layer to a later one; 1.0 is not before 0.1.*");
    }

    [Fact]
    public void Models_the_expansion_does_not_describe_are_refused_with_the_reasons()
    {
        var config = RandomWeights.Config(layers: 3, norm: Normalization.LN);

        var act = () => PathExpansion.Create(RandomWeights.Create(config, seed: 1));

        act.Should().Throw<ArgumentException>().WithMessage("*normalization_type is LN*3 layers*");
        PathExpansion.WhyUnsupported(config).Should().Be(
            "normalization_type is LN (LayerNorm is not linear); it has 3 layers (the expansion here has paths of length at most two)");
        PathExpansion.WhyUnsupported(RandomWeights.Config()).Should().BeNull();
    }

    [Fact]
    public void The_support_rule_names_every_reason_and_accepts_the_papers_models()
    {
        PathExpansionSupport.WhyUnsupported(nLayers: 2, attnOnly: true, normalizationType: Normalization.None, shortformer: false).Should().BeNull();
        PathExpansionSupport.WhyUnsupported(nLayers: 0, attnOnly: true, normalizationType: Normalization.None, shortformer: false).Should().BeNull();
        PathExpansionSupport.WhyUnsupported(nLayers: 3, attnOnly: false, normalizationType: Normalization.LNPre, shortformer: true).Should().Be(
            "normalization_type is LNPre (LayerNorm is not linear); it has MLPs; it uses shortformer positions; "
            + "it has 3 layers (the expansion here has paths of length at most two)");
    }
}
