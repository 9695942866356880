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
    public void The_path_members_of_a_LayerNorm_model_are_its_decompositions_terms_and_sum_to_the_logits()
    {
        using var model = TinyLn2L.FromWeights(RandomWeights(TinyLn2L.Config, seed: 11));
        var paths = model.Paths(Tokens);
        var members = typeof(TinyLn2L.PathTerms).GetProperties()
            .Where(p => p.PropertyType == typeof(PathTerm))
            .Select(p => (PathTerm)p.GetValue(paths)!)
            .ToList();

        members.Select(t => t.Name).Should().BeEquivalentTo(paths.Terms.Select(t => t.Name),
            "direct, four heads, four virtual heads, b0, mlp0, b1, mlp1, b_U and the rest, each a member");
        foreach (var member in members)
        {
            var sum = new double[member.Logits.Length];
            foreach (var id in member.Paths)
            {
                var term = paths.Decomposition.Term(id).Logits.Span;
                for (var i = 0; i < sum.Length; i++)
                {
                    sum[i] += term[i];
                }
            }

            // The rest sums no listed path: a two-layer model has none of three heads, so it is zero.
            for (var i = 0; i < sum.Length; i++)
            {
                member.Logits.Span[i].Should().BeApproximately((float)sum[i], 1e-5f, member.Name);
            }
        }

        var forward = model.Forward(Tokens);
        var positions = Tokens[0].Length;
        var next = Sum(members.Select(m => m.NextTokenLogit()));
        var difference = Sum(members.Select(m => m.LogitDifference(5, 7)));
        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p < positions; p++)
            {
                var row = ((b * positions) + p) * TinyLn2L.DVocab;
                difference[(b * positions) + p].Should().BeApproximately(forward.Span[row + 5] - forward.Span[row + 7], 1e-4);
                if (p + 1 < positions)
                {
                    next[(b * (positions - 1)) + p].Should().BeApproximately(forward.Span[row + Tokens[b][p + 1]], 1e-4);
                }
            }
        }

        members.Sum(m => m.Share).Should().BeApproximately(1, 1e-9);
    }

    [Fact]
    public void Path_members_name_the_paths_of_their_heads_and_sources()
    {
        using var model = TinyLn2L.FromWeights(RandomWeights(TinyLn2L.Config, seed: 3));
        var paths = model.Paths(Tokens);

        paths.L1H0_L0H1.Paths.Should().Equal(
            new PathId(PathSource.Embed, new HeadId(0, 1), new HeadId(1, 0)), new PathId(PathSource.PosEmbed, new HeadId(0, 1), new HeadId(1, 0)));
        paths.L1H0_L0H1.Name.Should().Be("L1H0_L0H1");
        paths.L0H1.Should().BeSameAs(paths.Through(new HeadId(0, 1)));
        paths.Mlp0.Paths.Should().Equal(
            new PathId(PathSource.Mlp(0)), new PathId(PathSource.Mlp(0), new HeadId(1, 0)), new PathId(PathSource.Mlp(0), new HeadId(1, 1)));
        paths.B1.Paths.Should().Equal(new PathId(PathSource.AttentionBias(1)));
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

        registry.Models.Select(m => m.Type).Should().BeEquivalentTo([typeof(Tiny2L), typeof(TinyLn2L), typeof(Compiled2L)]);
        registry.Models.Single(m => m.Type == typeof(Tiny2L)).Config.Should().Be(Tiny2L.Config);
        registry.Circuits.Select(c => c.Name).Should().BeEquivalentTo("TinyInduction", "TinyBounds", "TinyPaths", "CompiledInductionClaims");
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

    private static double[] Sum(IEnumerable<Tensor> terms)
    {
        double[]? sum = null;
        foreach (var term in terms)
        {
            sum ??= new double[term.Length];
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += term.Span[i];
            }
        }

        return sum!;
    }

    private static TransformerWeights RandomWeights(int seed) => RandomWeights(Tiny2L.Config, seed);

    internal static TransformerWeights RandomWeights(ModelConfig config, int seed)
    {
        var weights = TransformerWeights.Zeros(config);
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
