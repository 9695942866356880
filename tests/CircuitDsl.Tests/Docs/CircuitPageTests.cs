using System.Xml.Linq;
using CircuitDsl.Circuits;
using CircuitDsl.Docs;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Reports;
using CircuitDsl.Tests.Circuits;
using CircuitDsl.Tests.Model;

namespace CircuitDsl.Tests.Docs;

public sealed class CircuitPageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("circuit-page").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A report on the two-layer attention-only PyTorch fixture, one hypothesis of each kind, one of them false.</summary>
    private static (CircuitDocumentation Spec, CircuitReport Report, ModelAnalysis Analysis) Checked()
    {
        var analysis = new ModelAnalysis(TorchFixture.Load("attn_only_2l").Weights, WeightProcessingOptions.None, modelName: "Fixture2L");
        HeadId h00 = new(0, 0), h11 = new(1, 1);
        Evidence[] evidence =
        [
            Hypotheses.PreviousTokenHead(analysis, "Prev", "Head 0.0 attends to the previous token.", h00, 0.01, Bound.AtLeast),
            Hypotheses.CopyingHead(analysis, "Copy", "Head 1.1 copies.", h11, 0.99, Bound.AtLeast),
            Hypotheses.Composition(analysis, "KComp", "1.1 reads keys from 0.0.", CompositionKind.K, h00, h11, 0.01, Bound.AtLeast, false),
            Hypotheses.Ablation(analysis, "Matters", "Without 0.0 the loss rises.", h00, "repeated-tokens", 0.001, Bound.AtLeast),
        ];
        var spec = new CircuitDocumentation("Fixture Circuit", "Fixture2L", "A circuit on random weights.", "Induction Heads",
            [.. evidence.Select(e => new HypothesisDocumentation(e.Hypothesis, "Kind", e.Claim, [h00], [], null))]);
        return (spec, analysis.Report(spec.Name, evidence), analysis);
    }

    [Fact]
    public void The_page_states_each_hypothesis_with_its_value_threshold_and_verdict()
    {
        var (spec, report, analysis) = Checked();

        var page = CircuitPage.Build(spec, report, analysis, [new("trained with", "circuitdsl train …")]);
        var markdown = MarkdownPage.Render(page).Text;
        var sentences = string.Join("\n", page.Blocks.OfType<Paragraph>()
            .Select(p => string.Concat(p.Content.OfType<Inline.Text>().Select(t => t.Value))));

        foreach (var e in report.Evidence)
        {
            markdown.Should().Contain($"### {e.Hypothesis}");
            sentences.Should().Contain($"{e.Claim} Measured {e.Unit} = {Fmt.Value(e.Measured)}; claimed at least {Fmt.Value(e.Threshold)}");
        }

        report.Evidence.Single(e => e.Hypothesis == "Copy").Verdict.Should().Be(Verdict.Fails, "random weights do not copy at 0.99");
        markdown.Should().Contain("✗ fails").And.Contain("✓ holds").And.Contain("circuitdsl train …").And.Contain("Induction Heads");
    }

    [Fact]
    public void The_page_draws_the_pictures_behind_the_numbers()
    {
        var (spec, report, analysis) = Checked();

        var figures = CircuitPage.Build(spec, report, analysis).Blocks.OfType<Figure>().ToDictionary(f => f.FileName);

        figures.Keys.Should().BeEquivalentTo(
            "fixture-circuit-verdicts.svg", "fixture-circuit-prev-pattern.svg", "fixture-circuit-copy-eigenvalues.svg",
            "fixture-circuit-matters-loss.svg", "fixture-circuit-composition.svg", "fixture-circuit-paths.svg",
            "fixture-circuit-importance.svg", "fixture-circuit-lens.svg", "fixture-circuit-attribution.svg");
        // The pattern heatmap has one cell per query/key pair on or below the diagonal of the detection sequence.
        var n = analysis.DetectionBatch[0].Length;
        CountCells(figures["fixture-circuit-prev-pattern.svg"].Svg).Should().Be(n * (n + 1) / 2);
        // One eigenvalue point per dimension of the head (d_head of them, the non-zero ones of W_E W_OV W_U).
        figures["fixture-circuit-copy-eigenvalues.svg"].Svg.Should().Contain("<circle");
        // The direct path, 6 heads and 9 virtual heads: 16 terms, each a share of the whole.
        CountBars(figures["fixture-circuit-paths.svg"].Svg).Should().Be(16);
        // One heatmap cell per head, layer × head.
        CountCells(figures["fixture-circuit-attribution.svg"].Svg).Should().Be(analysis.Config.NLayers * analysis.Config.NHeads);
        figures["fixture-circuit-importance.svg"].Svg.Should().Contain("terms of order ≤ k").And.Contain("unembedding constant alone");
        figures["fixture-circuit-lens.svg"].Svg.Should().Contain("Logit lens");
    }

    [Fact]
    public void The_pictures_draw_the_runtime_analyses_numbers()
    {
        var (spec, report, analysis) = Checked();
        DocsSite.Write(_dir, "Circuits", [(CircuitPage.Build(spec, report, analysis), report)]);
        XElement Picture(string name) => XElement.Parse(File.ReadAllText(Path.Combine(_dir, "img", $"fixture-circuit-{name}.svg")));

        // The term-importance chart draws each order's loss, and the logit lens each layer's; the last point of both is
        // the model's own loss, computed here from the forward pass.
        var batch = analysis.DetectionBatch;
        var loss = Losses.NextTokenCrossEntropy(analysis.Model.Forward(batch), batch);
        var importance = analysis.Paths().Decomposition.Importance();
        var (orders, losses, tolerance) = DrawnPoints(Picture("importance"), "terms of order ≤ k");
        orders.Should().Equal(importance.Select(i => (double)i.Order));
        losses.Should().Equal(importance.Select(i => i.Loss), (drawn, measured) => Math.Abs(drawn - measured) <= tolerance);
        losses[^1].Should().BeApproximately(loss, 1e-4 + tolerance);

        var lens = analysis.Residual.LogitLens();
        (var layers, losses, tolerance) = DrawnPoints(Picture("lens"), "loss of the next token");
        layers.Should().Equal(Enumerable.Range(0, lens.Count).Select(l => (double)l));
        losses.Should().Equal(lens.Select(l => l.MeanLoss), (drawn, measured) => Math.Abs(drawn - measured) <= tolerance);
        losses[^1].Should().BeApproximately(loss, 1e-4 + tolerance);

        // The attribution heatmap's cells name each head's mean attribution; summed with the other components and the
        // constant, those means are the mean next-token logit.
        var attribution = analysis.Residual.Attribute();
        var means = attribution.MeanByHead();
        var cells = Picture("attribution").Descendants().Where(e => e.Name.LocalName == "rect" && (string?)e.Attribute("class") == "cell")
            .Select(e => e.Elements().Single(t => t.Name.LocalName == "title").Value).ToList();
        cells.Should().Equal(Enumerable.Range(0, analysis.Config.NLayers).SelectMany(l => Enumerable.Range(0, analysis.Config.NHeads)
            .Select(h => $"layer {l} × head {h}: {Fmt.Trimmed(means[l, h])}")));
        var total = means.Cast<double>().Sum() + attribution.Components.Sum(c => Mean(c.Value)) + Mean(attribution.Constant);
        total.Should().BeApproximately(Mean(attribution.Logit), 1e-3);
    }

    /// <summary>
    /// The (x, y) values a line chart draws for one series, read back from its path through the axes' tick labels, and
    /// how far a value can be from the one drawn (the coordinates are written to 3 decimals).
    /// </summary>
    private static (List<double> X, List<double> Y, double Tolerance) DrawnPoints(XElement svg, string series)
    {
        static double Number(XElement e) => double.Parse(e.Value.Replace('−', '-'), System.Globalization.CultureInfo.InvariantCulture);
        static double Attribute(XElement e, string name) => double.Parse((string)e.Attribute(name)!, System.Globalization.CultureInfo.InvariantCulture);
        static Func<double, double> Axis(List<(double Pixel, double Value)> ticks)
        {
            var (first, last) = (ticks[0], ticks[^1]);
            return pixel => first.Value + (pixel - first.Pixel) * (last.Value - first.Value) / (last.Pixel - first.Pixel);
        }

        var labels = svg.Descendants().Single(e => e.Name.LocalName == "g" && (string?)e.Attribute("class") == "axes")
            .Elements().Where(e => e.Name.LocalName == "text" && e.Attribute("class") is null).ToList();
        // A y tick's label stands 3.5 below its grid line, right-aligned; an x tick's is centred under its tick.
        var yTicks = labels.Where(e => (string?)e.Attribute("text-anchor") == "end").Select(e => (Attribute(e, "y") - 3.5, Number(e))).ToList();
        var xTicks = labels.Where(e => (string?)e.Attribute("text-anchor") == "middle").Select(e => (Attribute(e, "x"), Number(e))).ToList();
        yTicks.Should().HaveCountGreaterThan(1);
        xTicks.Should().HaveCountGreaterThan(1);
        var (x, y) = (Axis(xTicks), Axis(yTicks));

        var path = svg.Descendants().Single(e => e.Name.LocalName == "path" && (string?)e.Attribute("class") == "series"
            && e.Elements().Any(t => t.Name.LocalName == "title" && t.Value == series));
        var points = ((string)path.Attribute("d")!).Split(' ').Select(p => p[1..].Split(','))
            .Select(p => (X: x(double.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture)), Y: y(double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))))
            .ToList();
        var tolerance = 2e-3 * Math.Abs((y(1) - y(0)));
        return ([.. points.Select(p => Math.Round(p.X, 3))], [.. points.Select(p => p.Y)], tolerance);
    }

    private static double Mean(Tensor t)
    {
        double sum = 0;
        foreach (var v in t.Span)
        {
            sum += v;
        }

        return sum / t.Length;
    }

    [Fact]
    public void The_path_shares_drawn_are_every_path_of_the_example_sequence_up_to_two_heads()
    {
        var (_, _, analysis) = Checked();

        analysis.PathOrder.Should().Be(2);
        analysis.PathShares.Where(t => t.Id is not null).Should().HaveCount((int)PathDecomposition.CountTerms(analysis.Config, 2));
        analysis.PathShares.Where(t => t.Id is not null).Select(t => t.Id!.Order).Should().OnlyContain(order => order <= 2);
        analysis.PathShares.Sum(t => t.Share).Should().BeApproximately(1, 1e-9);
        analysis.PathShares.Should().OnlyContain(t => t.Share >= 0 && Math.Abs((t.Norm * t.Norm) - t.Share * analysis.PathShares.Sum(u => u.Norm * u.Norm)) <= 1e-9);
    }

    [Fact]
    public void A_deep_layer_norm_model_gets_its_exact_path_expansion_drawn_with_the_deeper_paths_as_the_rest()
    {
        var analysis = new ModelAnalysis(RandomWeights.Create(RandomWeights.Config(layers: 3, norm: Normalization.LN), seed: 1),
            WeightProcessingOptions.None, modelName: "LayerNorm3L");
        Evidence[] evidence = [Hypotheses.PreviousTokenHead(analysis, "Prev", "", new HeadId(0, 0), 0.5, Bound.AtLeast)];
        var spec = new CircuitDocumentation("Deep", "LayerNorm3L", "", null,
            [new HypothesisDocumentation("Prev", "PreviousTokenHead", "", [new HeadId(0, 0)], [], null)]);

        var page = CircuitPage.Build(spec, analysis.Report(spec.Name, evidence), analysis);

        page.Blocks.OfType<Figure>().Should().Contain(f => f.FileName == "deep-paths.svg");
        var sentences = page.Blocks.OfType<Paragraph>().Select(p => string.Concat(p.Content.OfType<Inline.Text>().Select(t => t.Value))).ToList();
        sentences.Should().NotContain(s => s.Contains("Not drawn", StringComparison.Ordinal) || s.Contains("Not available", StringComparison.Ordinal));
        analysis.PathShares.Should().ContainSingle(t => t.Id == null, "the paths through all three layers' heads are one rest term");
        analysis.PathShares.Sum(t => t.Share).Should().BeApproximately(1, 1e-9);
    }

    [Fact]
    public void The_site_has_an_index_a_page_per_circuit_and_one_self_contained_html_page()
    {
        var (spec, report, analysis) = Checked();
        var page = CircuitPage.Build(spec, report, analysis);

        var files = DocsSite.Write(_dir, "Circuits", [(page, report)]);

        files.Should().OnlyContain(f => File.Exists(f));
        File.ReadAllText(Path.Combine(_dir, "index.md")).Should().Contain("[Fixture Circuit](fixture-circuit.md)");
        File.Exists(Path.Combine(_dir, "img", "fixture-circuit-composition.svg")).Should().BeTrue();
        var html = File.ReadAllText(Path.Combine(_dir, DocsSite.HtmlFileName));
        html.Should().Contain("href=\"#fixture-circuit\"").And.Contain("id=\"fixture-circuit\"");
        html.Should().NotContain("src=\"").And.NotContain("<link");
        CountOccurrences(html, "<figure").Should().Be(page.Blocks.OfType<Figure>().Count());
    }

    private static int CountCells(string svg) =>
        XElement.Parse(svg).Descendants().Count(e => e.Name.LocalName == "rect" && (string?)e.Attribute("class") == "cell");

    private static int CountBars(string svg) =>
        XElement.Parse(svg).Descendants().Count(e => e.Name.LocalName == "g" && ((string?)e.Attribute("class"))?.StartsWith("bar", StringComparison.Ordinal) == true);

    private static int CountOccurrences(string text, string what) =>
        (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;
}
