using CircuitDsl.Cli.Application;
using CircuitDsl.Docs;
using CircuitDsl.Tests.Docs;

namespace CircuitDsl.Tests.Cli;

public sealed class DemoCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("demo-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Demo_checks_every_bundled_spec_prints_the_verdicts_and_writes_the_docs()
    {
        var circuits = SpecCatalog.Circuits(SpecCatalog.Bundled);

        var (code, stdout, stderr) = CliRunner.Run("demo", "--out", _dir);

        code.Should().Be(0, stderr);
        circuits.Should().NotBeEmpty();
        foreach (var circuit in circuits)
        {
            stdout.Should().Contain($"checked {circuit.Documentation.Name}");
            File.Exists(Path.Combine(_dir, "docs", CircuitPage.FilePrefix(circuit.Documentation.Name) + ".md")).Should().BeTrue();
        }

        // Exactly the deliberately false claims fail; everything else the specs claim holds on the bundled weights, each
        // on the seeds it asks for, and the page shows every seed's value.
        var falseClaims = circuits.Where(c => c.Documentation.Name.StartsWith("False", StringComparison.Ordinal)).Sum(c => c.Documentation.Hypotheses.Count);
        var all = circuits.Sum(c => c.Documentation.Hypotheses.Count);
        // The console wraps long lines; read the summary with its line breaks as spaces.
        var flat = System.Text.RegularExpressions.Regex.Replace(stdout, @"\s+", " ");
        flat.Should().Contain($"{all - falseClaims} hold, {falseClaims} fail, 0 not measured, each on the seeds it asks for; {falseClaims} of the claims are deliberately false")
            .And.Contain("Every verdict is the expected one.")
            .And.Contain("bundled weights of seeds 0, 1, 2, 3, 4").And.Contain("about twice TransformerLens's \"mul\" measure");
        File.ReadAllText(Path.Combine(_dir, "docs", CircuitPage.FilePrefix("InductionCircuit") + ".md"))
            .Should().Contain("## Across seeds").And.Contain("5 of 5 (needs 5)").And.Contain("0: 0.90");
        Directory.GetFiles(Path.Combine(_dir, "docs"), "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".md", StringComparison.Ordinal) || f.EndsWith(".html", StringComparison.Ordinal) || f.EndsWith(".svg", StringComparison.Ordinal))
            .Should().OnlyContain(f => !File.ReadAllText(f).Contains(_dir) && !File.ReadAllText(f).Contains(AppContext.BaseDirectory),
                "the generated docs carry no absolute path of the machine that wrote them");
        File.ReadAllText(Path.Combine(_dir, "docs", DocsSite.HtmlFileName)).Should().Contain("InductionCircuit")
            .And.Contain("href=\"view-induction2l.html\"", "the page links each model's interactive view");
        File.ReadAllText(Path.Combine(_dir, "docs", "view-induction2l.html")).Should().Contain("id=\"heads\"").And.NotContain("https://");
    }

    [ChromiumFact]
    public void The_generated_docs_show_attention_patterns_and_heatmaps_in_a_browser()
    {
        CliRunner.Run("docs", "--out", _dir).Code.Should().Be(0);
        var png = Path.Combine(_dir, "page.png");

        Chromium.Screenshot(Path.Combine(_dir, DocsSite.HtmlFileName), png, 1200, 16000);
        var image = Png.Decode(File.ReadAllBytes(png));

        // The induction and previous-token heads put almost all their attention on one key: those pattern cells are
        // the darkest purple of the 0…1 scale. Nothing else on the page is that colour.
        ScreenshotTests.Count(image, ColorScale.Sequential().Map(0.95), tolerance: 24)
            .Should().BeGreaterThan(500, "the attention patterns of the named heads are drawn");
        // The hold/fail verdict bars are drawn too.
        ScreenshotTests.Count(image, Rgb.Parse("#009e73"), tolerance: 24).Should().BeGreaterThan(500, "verdict bars are drawn");
    }

    [Fact]
    public void The_bundled_specs_are_found_through_their_generated_registry()
    {
        var circuits = SpecCatalog.Circuits(SpecCatalog.Bundled);

        circuits.Select(c => c.Name).Should().BeInAscendingOrder(StringComparer.Ordinal).And.Contain("InductionCircuit");
        var induction = circuits.Single(c => c.Name == "InductionCircuit");
        induction.Model.Type.Should().Be(typeof(CircuitDsl.Specs.Induction2L));
        induction.Documentation.Should().BeSameAs(CircuitDsl.Specs.InductionCircuit.Documentation);
    }

    [Fact]
    public void Docs_of_an_assembly_without_specs_is_exit_code_2()
    {
        var runtime = typeof(CircuitDsl.Tensors.Tensor).Assembly.Location;

        var (code, _, stderr) = CliRunner.Run("docs", "--specs", runtime, "--out", _dir);

        code.Should().Be(2);
        stderr.Should().Be("circuitdsl: no [Circuit] specs in CircuitDsl." + Environment.NewLine);
    }

    [Fact]
    public void Docs_of_a_missing_spec_assembly_is_exit_code_2()
    {
        var (code, _, stderr) = CliRunner.Run("docs", "--specs", Path.Combine(_dir, "nope.dll"), "--out", _dir);

        code.Should().Be(2);
        stderr.Should().Contain("nope.dll: spec assembly not found.");
    }
}
