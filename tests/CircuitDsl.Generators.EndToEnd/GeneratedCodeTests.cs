using System.Reflection;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tensors;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>
/// The generator as a build really runs it (an analyzer of this project), and the code it wrote running on the
/// runtime: the named path terms add up to the logits, typed weights are the runtime's, and the circuit's checks
/// and documentation come through.
/// </summary>
public sealed class GeneratedCodeTests
{
    private static readonly int[][] Tokens = [[1, 5, 7, 2, 1, 5, 7, 2, 9], [3, 3, 8, 0, 11, 4, 3, 3, 8]];

    [Fact]
    public void The_named_path_terms_and_the_bias_sum_to_the_logits()
    {
        using var model = Tiny2L.FromWeights(RandomWeights(seed: 11));
        var terms = typeof(Tiny2L.PathTerms).GetProperties()
            .Where(p => p.PropertyType == typeof(PathTerm))
            .Select(p => (PathTerm)p.GetValue(model.Paths)!)
            .ToList();

        terms.Select(t => t.Name).Should().OnlyHaveUniqueItems()
            .And.HaveCount(1 + (2 * 2) + (2 * 2), "direct, four heads and four virtual heads, each once");
        terms.Select(t => t.Name).Should().BeEquivalentTo(model.Paths.Expansion.Terms.Select(t => t.Name));

        var logits = model.Forward(Tokens);
        var sum = new double[logits.Length];
        foreach (var term in terms)
        {
            var contribution = term.Contribution(Tokens).Span;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += contribution[i];
            }
        }

        var bias = model.Paths.Expansion.BiasContribution().Span;
        var expected = logits.Span;
        for (var i = 0; i < sum.Length; i++)
        {
            (sum[i] + bias[i % Tiny2L.DVocab]).Should().BeApproximately(expected[i], 1e-4);
        }
    }

    [Fact]
    public void Typed_weights_are_the_runtime_weights_and_circuits()
    {
        var weights = RandomWeights(seed: 5);
        using var model = Tiny2L.FromWeights(weights);

        model.L1.H1.W_Q.Span.ToArray().Should().Equal(weights.Blocks[1].W_Q[1].Span.ToArray());
        model.L0.H1.W_O.Span.ToArray().Should().Equal(weights.Blocks[0].W_O[1].Span.ToArray());
        model.L1.H0.W_OV.AB().ToRowMajorArray().Should().Equal(HeadCircuits.W_OV(weights, new HeadId(1, 0)).AB().ToRowMajorArray());
        model.AllHeads.Select(h => h.Id.ToString()).Should().Equal("0.0", "0.1", "1.0", "1.1");
        Tiny2L.Config.Problems().Should().BeEmpty();
        Tiny2L.DescribeMismatch(weights.Config).Should().BeNull();
    }

    [Fact]
    public void CheckAll_reports_every_hypothesis_with_its_prose_and_threshold()
    {
        using var model = Tiny2L.FromWeights(RandomWeights(seed: 2));
        var report = TinyInduction.CheckAll(model);

        report.Circuit.Should().Be("TinyInduction");
        report.Evidence.Select(e => (e.Hypothesis, e.Claim, e.Threshold)).Should().Equal(
            ("PreviousToken", "Head 0.1 attends to the previous token.", 0.5),
            ("KComposition", "Head 1.0 reads its keys from what 0.1 wrote, at least twice chance.", 2.0),
            ("Induction", "Head 1.0 is an induction head.", 0.5));
        report.Evidence.Should().OnlyContain(e => e.Verdict != Verdict.NotMeasured);
    }

    [Fact]
    public void The_documentation_reads_the_doc_comments_as_the_build_sees_them()
    {
        TinyInduction.Documentation.Summary.Should().Be("An induction circuit, stated against Tiny2L.");
        TinyInduction.Documentation.Paper.Should().Be("Induction Heads");
        TinyInduction.Documentation.Hypotheses.Select(h => h.Kind).Should().Equal("PreviousTokenHead", "Composes", "InductionHead");
        TinyInduction.Documentation.Hypotheses[1].Heads.Should().Equal(new HeadId(1, 0), new HeadId(0, 1));
        typeof(TinyInduction).GetMethod(nameof(TinyInduction.PreviousToken), BindingFlags.Public | BindingFlags.Static).Should().NotBeNull();
    }

    private static TransformerWeights RandomWeights(int seed)
    {
        var weights = TransformerWeights.Zeros(Tiny2L.Config);
        var random = new Random(seed);
        foreach (var (_, tensor) in weights.ToStateDict())
        {
            var span = tensor.Span;
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (float)((random.NextDouble() - 0.5) * 0.8);
            }
        }

        return weights;
    }
}
