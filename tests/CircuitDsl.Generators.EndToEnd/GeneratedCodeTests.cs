using System.Reflection;
using CircuitDsl.Circuits;
using CircuitDsl.Facade;
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
        weights.Config.DescribeMismatch(Tiny2L.Config, nameof(Tiny2L)).Should().BeNull();
    }

    [Fact]
    public void Path_members_are_the_terms_with_their_typed_ids()
    {
        using var model = Tiny2L.FromWeights(RandomWeights(seed: 3));

        model.Paths.L1H0_L0H1.Id.Should().Be(PathTermId.Virtual(new HeadId(0, 1), new HeadId(1, 0)));
        model.Paths.L1H0_L0H1.Name.Should().Be("L1H0_L0H1");
        model.Paths.L0H1.Should().BeSameAs(model.Paths.Expansion.Term(PathTermId.Head(new HeadId(0, 1))));
        model.Paths.Direct.Kind.Should().Be(PathTermKind.Direct);
    }

    [Fact]
    public void Generic_code_reaches_a_model_class_through_its_static_interface()
    {
        using var model = Wrap<Tiny2L>(RandomWeights(seed: 4));

        model.Should().BeOfType<Tiny2L>();
        model.Analysis.ModelName.Should().Be("Tiny2L");
        var wrong = TransformerWeights.Zeros(Tiny2L.Config with { NHeads = 3 });
        FluentActions.Invoking(() => Wrap<Tiny2L>(wrong)).Should().Throw<ArgumentException>()
            .WithMessage("the config does not match [Transformer] on Tiny2L: n_heads is 3 but Tiny2L declares 2.*");

        static TModel Wrap<TModel>(TransformerWeights weights)
            where TModel : ITransformerModel<TModel> =>
            TModel.FromWeights(weights);
    }

    [Fact]
    public void The_assembly_registry_lists_every_spec_and_checks_circuits_through_typed_entries()
    {
        var attribute = typeof(Tiny2L).Assembly.GetCustomAttribute<SpecRegistryAttribute>();
        attribute.Should().NotBeNull("the generator names the assembly's registry");
        var registry = (ISpecRegistry)Activator.CreateInstance(attribute!.RegistryType)!;

        registry.Models.Select(m => m.Type).Should().Equal(typeof(Tiny2L));
        registry.Models[0].Config.Should().Be(Tiny2L.Config);
        registry.Circuits.Select(c => c.Name).Should().BeEquivalentTo("TinyInduction", "TinyBounds");
        var circuit = registry.Circuits.Single(c => c.Name == "TinyInduction");
        circuit.Documentation.Should().BeSameAs(TinyInduction.Documentation);
        circuit.Model.Type.Should().Be(typeof(Tiny2L));

        using var model = Tiny2L.FromWeights(RandomWeights(seed: 2));
        circuit.CheckAll(model).Evidence.Select(e => e.Measured).Should().Equal(TinyInduction.CheckAll(model).Evidence.Select(e => e.Measured));
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
