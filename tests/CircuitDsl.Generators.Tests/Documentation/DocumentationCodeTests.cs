using System.Reflection;
using System.Runtime.Loader;
using CircuitDsl.Reports;

namespace CircuitDsl.Generators.Tests.Documentation;

/// <summary>
/// The C# that README.md and docs/*.md show builds: each page's <c>```csharp</c> blocks compile, with the generator,
/// without an error or a warning; and the README's spec, compiled from the README itself, holds on the bundled
/// weights its model card names. A page can never again show code that does not build.
/// </summary>
public sealed class DocumentationCodeTests
{
    public static TheoryData<string> Pages()
    {
        var data = new TheoryData<string>();
        foreach (var page in PagesWithCode())
        {
            data.Add(page);
        }

        return data;
    }

    [Fact]
    public void The_readme_and_the_guide_show_code()
    {
        CodeBlocks.Read("README.md").Should().Contain(b => !b.IsFragment, "the front page shows a spec");
        PagesWithCode().Should().Contain(["README.md", "docs/guide.md"]);
    }

    private static IEnumerable<string> PagesWithCode() =>
        CodeBlocks.Pages().Where(p => CodeBlocks.Read(p).Any(b => !b.IsFragment));

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_csharp_block_compiles_without_a_warning(string page)
    {
        var (_, problems) = CodeBlocks.Compile(CodeBlocks.Read(page), "DocumentationExamples");

        problems.Should().BeEmpty($"every ```csharp block of {page} must build as shown (mark a deliberate excerpt ```csharp {CodeBlocks.FragmentMarker})");
    }

    [Fact]
    public void The_readme_spec_holds_on_the_weights_its_model_card_names()
    {
        var (output, problems) = CodeBlocks.Compile(CodeBlocks.Read("README.md"), "ReadmeSpec");
        problems.Should().BeEmpty();
        var context = new AssemblyLoadContext("readme-spec", isCollectible: true);
        try
        {
            using var image = new MemoryStream();
            var emitted = output.Emit(image);
            emitted.Success.Should().BeTrue(string.Join("\n", emitted.Diagnostics));
            image.Position = 0;
            var assembly = context.LoadFromStream(image);

            var circuits = assembly.GetTypes().Where(t => t.GetCustomAttribute<CircuitAttribute>() is not null).ToList();
            circuits.Should().ContainSingle("the README shows one circuit");
            var circuit = circuits[0];
            var model = circuit.GetCustomAttribute<CircuitAttribute>()!.Model;
            var card = model.GetCustomAttribute<TrainedOnAttribute>();
            card.Should().NotBeNull("the README's model names its bundled weights with [TrainedOn]");

            // The model card's folder is relative to the spec assembly; the README's spec stands for one in
            // specs/CircuitDsl.Specs, whose weights/ folder holds the bundled models.
            // It is checked on every seed the card lists, each from its seed-S folder.
            var reports = new List<CircuitReport>();
            foreach (var seed in card!.AllSeeds)
            {
                var weights = Path.Combine(CodeBlocks.RepositoryRoot, "specs", "CircuitDsl.Specs", card.Weights, TrainedOnAttribute.SeedFolder(seed));
                using var loaded = (IDisposable)model.GetMethod("Load", [typeof(string)])!.Invoke(null, [weights])!;
                reports.Add((CircuitReport)circuit.GetMethod("CheckAll", [model])!.Invoke(null, [loaded])!);
            }

            var documentation = (CircuitDocumentation)circuit.GetProperty("Documentation")!.GetValue(null)!;
            var report = new SeedReport(documentation, card.AllSeeds, reports);
            card.AllSeeds.Should().HaveCountGreaterThanOrEqualTo(5);
            report.Claims.Should().NotBeEmpty();
            report.AllHold.Should().BeTrue(report.ToText());

            // The report the README shows is this report's first lines, word for word.
            var readme = File.ReadAllText(Path.Combine(CodeBlocks.RepositoryRoot, "README.md")).ReplaceLineEndings("\n");
            var start = readme.IndexOf("```text\ncircuit ", StringComparison.Ordinal);
            start.Should().BePositive("the README shows a report");
            start += "```text\n".Length;
            var shown = readme[start..readme.IndexOf("\n```", start, StringComparison.Ordinal)].Split('\n');
            report.ToText().ReplaceLineEndings("\n").Split('\n').Take(shown.Length).Should().Equal(shown);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void A_block_that_does_not_build_fails_naming_its_page_and_line()
    {
        const string Page = """
            # A page

            ```csharp
            namespace Example;

            public static class Kinds
            {
                public static CircuitDsl.CompositionKind Keys => CircuitDsl.CompositionKind.K;
            }
            ```

            Some prose, then an excerpt that is not meant to build on its own:

            ```csharp fragment
            [Composes("1.1", Via = CompositionKind.K, From = "0.2", AtLeast = 0.2)]
            ```

            ```csharp
            namespace Example;

            public static class Uses
            {
                public static CircuitDsl.CompositionKind Queries()
                {
                    var unused = 1;
                    return Kinds.Keys == CircuitDsl.CompositionKind.K ? Composition.Q : Kinds.Keys;
                }
            }
            ```
            """;
        var blocks = CodeBlocks.Extract("docs/example.md", Page);

        blocks.Select(b => (b.Line, b.IsFragment)).Should().Equal((4, false), (15, true), (19, false));
        var (_, problems) = CodeBlocks.Compile(blocks, "BrokenExample");

        // The blocks of a page compile together (Uses reads Kinds), the fragment is skipped, and each problem names
        // its page, line and column, and the block it is in.
        problems.Should().BeEquivalentTo(
            "docs/example.md(25,13): warning CS0219: The variable 'unused' is assigned but its value is never used (in the block at docs/example.md(19))",
            "docs/example.md(26,61): error CS0103: The name 'Composition' does not exist in the current context (in the block at docs/example.md(19))");
    }

    [Fact]
    public void A_block_left_open_is_an_error()
    {
        var open = () => CodeBlocks.Extract("docs/open.md", "text\n```csharp\nclass A;\n");

        open.Should().Throw<InvalidOperationException>().WithMessage("docs/open.md(2): *never closed*");
    }

    [Theory]
    [InlineData("cs")]
    [InlineData("c#")]
    public void CSharp_fenced_under_another_name_is_an_error(string info)
    {
        var fenced = () => CodeBlocks.Extract("docs/other.md", $"text\n\n```{info}\nclass A;\n```\n");

        fenced.Should().Throw<InvalidOperationException>().WithMessage("docs/other.md(3): fence C# as ```csharp*");
    }
}
