using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>
/// The pipeline caches: an edit that does not touch a spec re-runs nothing observable, an edit to a spec
/// modifies exactly its outputs, and no model value holds a compiler object that would keep a compilation alive.
/// </summary>
public sealed class CachingTests
{
    private static readonly string[] TrackedSteps =
    [
        TrackingNames.TransformerResults,
        TrackingNames.TransformerSpecs,
        TrackingNames.CircuitResults,
        TrackingNames.CircuitSpecs,
        TrackingNames.Registry,
        TrackingNames.StrayHypotheses,
        TrackingNames.Diagnostics,
    ];

    private const string RegistryFile = "CircuitDsl.Generated.SpecRegistry.g.cs";

    private const string Unrelated = """
        namespace Specs;

        public static class Helpers
        {
            public static int Twice(int x) => x * 2;
        }
        """;

    [Fact]
    public void An_edit_in_another_file_leaves_every_tracked_step_cached_or_unchanged()
    {
        var (first, second) = RunTwice(Unrelated, Unrelated.Replace("x * 2", "x + x", StringComparison.Ordinal));
        ExpectNothingReRunVisibly(first, second);
    }

    [Fact]
    public void An_unrelated_edit_in_the_spec_file_re_runs_parsing_to_an_unchanged_result()
    {
        // The spec's own file changes, so the driver re-parses the circuit; the equatable result is equal.
        var (first, second) = RunTwice(SpecSources.Induction, SpecSources.Induction + "\npublic static class Extra { }\n", editCircuit: true);
        ExpectNothingReRunVisibly(first, second);
        Reasons(second, TrackingNames.CircuitResults).Should().Contain(IncrementalStepRunReason.Unchanged);
    }

    private static void ExpectNothingReRunVisibly(GeneratorRun first, GeneratorRun second)
    {
        // No diagnostic, no step (and the driver records no stray-hypothesis step when every hypothesis is in a circuit).
        first.Result.Results[0].TrackedSteps.Keys.Should().Contain(
            TrackedSteps.Where(s => s is not (TrackingNames.Diagnostics or TrackingNames.StrayHypotheses)));
        foreach (var step in TrackedSteps)
        {
            Reasons(first, step).Where(r => r != IncrementalStepRunReason.New).Should().BeEmpty();

            // A step the driver skipped because its input was cached does not appear at all: that is cached too.
            Reasons(second, step).Where(r => r is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
                .Should().BeEmpty($"step {step} should not have re-run visibly");
        }

        second.Sources.Should().Equal(first.Sources);
    }

    [Fact]
    public void Editing_a_hypothesis_modifies_the_circuit_and_leaves_the_model_alone()
    {
        var edited = SpecSources.Induction.Replace("AtLeast = 0.8", "AtLeast = 0.85", StringComparison.Ordinal);
        var (first, second) = RunTwice(SpecSources.Induction, edited, editCircuit: true);

        Reasons(second, TrackingNames.CircuitResults).Should().Contain(IncrementalStepRunReason.Modified);
        Reasons(second, TrackingNames.CircuitSpecs).Should().Contain(IncrementalStepRunReason.Modified);
        Reasons(second, TrackingNames.TransformerSpecs).Should().OnlyContain(
            r => r == IncrementalStepRunReason.Cached || r == IncrementalStepRunReason.Unchanged);
        second.Sources["Specs.Induction.g.cs"].Should().Contain("threshold: 0.85").And.NotBe(first.Sources["Specs.Induction.g.cs"]);
        Reasons(second, TrackingNames.Registry).Should().NotBeEmpty().And.OnlyContain(
            r => r == IncrementalStepRunReason.Cached || r == IncrementalStepRunReason.Unchanged, "the registry lists names, and no name changed");
        second.Sources[RegistryFile].Should().Be(first.Sources[RegistryFile]);
    }

    [Fact]
    public void Renaming_a_circuit_regenerates_the_registry()
    {
        var renamed = SpecSources.Induction.Replace("partial class Induction", "partial class Induction2", StringComparison.Ordinal);
        var (first, second) = RunTwice(SpecSources.Induction, renamed, editCircuit: true);

        first.Sources[RegistryFile].Should().Contain("global::Specs.Induction.CheckAll");
        Reasons(second, TrackingNames.Registry).Should().Equal(IncrementalStepRunReason.Modified);
        second.Sources[RegistryFile].Should().Contain("global::Specs.Induction2.CheckAll").And.NotContain("global::Specs.Induction.CheckAll");
    }

    [Fact]
    public void Editing_one_of_several_circuits_regenerates_only_that_circuit()
    {
        static string Circuit(string name, string model, string head) => $$"""
            using CircuitDsl;
            using CircuitDsl.Reports;

            namespace Specs;

            /// <summary>Circuit {{name}}.</summary>
            [Circuit(typeof({{model}}))]
            public static partial class {{name}}
            {
                /// <summary>Head {{head}} copies.</summary>
                [CopyingHead("{{head}}", AtLeast = 0.5)]
                public static partial Evidence Copies({{model}} model);
            }
            """;

        var compilation = GeneratorHarness.Compile(SpecSources.TwoLayer, SpecSources.OneLayer, SpecSources.Induction,
            Circuit("Copier1L", "Toy1L", "0.1"), Circuit("Copier2L", "Toy2L", "1.2"));
        var first = GeneratorHarness.Run(GeneratorHarness.NewDriver(), compilation);
        first.Diagnostics.Should().BeEmpty();
        first.Sources.Should().HaveCount(6, "two models, three circuits and the registry");

        var oldTree = compilation.SyntaxTrees.Last();
        var newTree = CSharpSyntaxTree.ParseText(
            Circuit("Copier2L", "Toy2L", "1.2").Replace("AtLeast = 0.5", "AtLeast = 0.55", StringComparison.Ordinal),
            GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var second = GeneratorHarness.Run(first.Driver, compilation.ReplaceSyntaxTree(oldTree, newTree));

        second.Sources.Where(s => first.Sources[s.Key] != s.Value).Select(s => s.Key).Should().Equal("Specs.Copier2L.g.cs");
        second.Sources["Specs.Copier2L.g.cs"].Should().Contain("threshold: 0.55");
        foreach (var step in new[] { TrackingNames.CircuitResults, TrackingNames.CircuitSpecs })
        {
            Reasons(second, step).Should().HaveCount(3).And.ContainSingle(r => r == IncrementalStepRunReason.Modified)
                .And.OnlyContain(r => r == IncrementalStepRunReason.Modified || r == IncrementalStepRunReason.Cached || r == IncrementalStepRunReason.Unchanged);
        }

        Reasons(second, TrackingNames.TransformerSpecs).Should().HaveCount(2).And.OnlyContain(r => r == IncrementalStepRunReason.Cached);
        Reasons(second, TrackingNames.Registry).Should().NotBeEmpty()
            .And.OnlyContain(r => r == IncrementalStepRunReason.Cached || r == IncrementalStepRunReason.Unchanged);
    }

    [Fact]
    public void Editing_the_model_spec_reaches_the_circuits_that_use_it()
    {
        var compilation = GeneratorHarness.Compile(SpecSources.TwoLayer, SpecSources.Induction);
        var first = GeneratorHarness.Run(GeneratorHarness.NewDriver(), compilation);
        var oldTree = compilation.SyntaxTrees.First();
        var newTree = CSharpSyntaxTree.ParseText(
            SpecSources.TwoLayer.Replace("NHeads = 3", "NHeads = 2", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var second = GeneratorHarness.Run(first.Driver, compilation.ReplaceSyntaxTree(oldTree, newTree));

        Reasons(second, TrackingNames.TransformerSpecs).Should().Contain(IncrementalStepRunReason.Modified);
        second.Diagnostics.Select(d => d.Id).Should().NotBeEmpty().And.OnlyContain(id => id == "CDSL002", "head 0.2 no longer exists");
    }

    [Fact]
    public void No_model_value_holds_a_symbol_syntax_node_location_or_compilation()
    {
        var run = GeneratorHarness.Run(SpecSources.TwoLayer, SpecSources.Induction,
            """
            using CircuitDsl;
            using CircuitDsl.Reports;

            namespace Specs;

            [Circuit(typeof(Toy2L))]
            public static partial class Broken
            {
                [PreviousTokenHead("9.9", AtLeast = 2)]
                public static partial Evidence Wrong(Toy2L model);
            }

            public static partial class NotACircuit
            {
                [InductionHead("1.1", AtLeast = 0.5)]
                public static partial Evidence Stray(Toy2L model);
            }
            """);
        var forbidden = new[] { typeof(ISymbol), typeof(SyntaxNode), typeof(Location), typeof(Compilation), typeof(SemanticModel), typeof(SyntaxTree) };
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var seenTypes = new HashSet<Type>();

        foreach (var step in TrackedSteps)
        {
            foreach (var output in run.Result.Results[0].TrackedSteps[step].SelectMany(s => s.Outputs))
            {
                Walk(output.Value, $"{step}", visited, seenTypes, forbidden);
            }
        }

        seenTypes.Select(t => t.Name).Should().Contain(["CircuitSpec", "HypothesisSpec", "TransformerSpec", "RegistrySpec", "DiagnosticInfo", "LocationInfo", "HeadId"],
            "the walk reaches every kind of model value");
    }

    private static void Walk(object? value, string path, HashSet<object> visited, HashSet<Type> seenTypes, Type[] forbidden)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || value is DiagnosticDescriptor)
        {
            return;
        }

        var type = value.GetType();
        forbidden.Should().NotContain(f => f.IsAssignableFrom(type), $"{path} is a {type.Name}, which would keep a compilation alive");
        seenTypes.Add(type);
        if (!type.IsValueType && !visited.Add(value))
        {
            return;
        }

        if (value is IEnumerable items)
        {
            var i = 0;
            foreach (var item in items)
            {
                Walk(item, $"{path}[{i++}]", visited, seenTypes, forbidden);
            }

            return;
        }

        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Walk(field.GetValue(value), $"{path}.{field.Name}", visited, seenTypes, forbidden);
            }
        }
    }

    private static (GeneratorRun First, GeneratorRun Second) RunTwice(string before, string after, bool editCircuit = false)
    {
        var sources = editCircuit
            ? new[] { SpecSources.TwoLayer, before }
            : new[] { SpecSources.TwoLayer, SpecSources.Induction, before };
        var compilation = GeneratorHarness.Compile(sources);
        var first = GeneratorHarness.Run(GeneratorHarness.NewDriver(), compilation);
        first.Diagnostics.Should().BeEmpty();

        var oldTree = compilation.SyntaxTrees.ElementAt(editCircuit ? 1 : 2);
        var newTree = CSharpSyntaxTree.ParseText(after, GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var second = GeneratorHarness.Run(first.Driver, compilation.ReplaceSyntaxTree(oldTree, newTree));
        return (first, second);
    }

    private static List<IncrementalStepRunReason> Reasons(GeneratorRun run, string step)
    {
        return run.Result.Results[0].TrackedSteps.TryGetValue(step, out var steps)
            ? steps.SelectMany(s => s.Outputs).Select(o => o.Reason).ToList()
            : [];
    }
}
