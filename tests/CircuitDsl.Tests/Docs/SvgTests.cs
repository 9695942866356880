using System.Globalization;
using System.Numerics;
using System.Xml.Linq;
using CircuitDsl.Docs;
using CircuitDsl.Testing;

namespace CircuitDsl.Tests.Docs;

public sealed class SvgTests
{
    private static readonly XNamespace S = "http://www.w3.org/2000/svg";

    private static XDocument Parse(string svg) => XDocument.Parse(svg);

    private static List<XElement> WithClass(XDocument d, string cssClass) =>
        [.. d.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cssClass) == true)];

    private static double Num(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    private static double[,] Matrix(int rows, int cols, Func<int, int, double> f)
    {
        var m = new double[rows, cols];
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++)
                m[i, j] = f(i, j);
        return m;
    }

    private static string[] Labels(string prefix, int n) => [.. Enumerable.Range(0, n).Select(i => prefix + i)];

    [Fact]
    public void A_heatmap_is_well_formed_scalable_titled_svg_with_one_cell_per_value()
    {
        var svg = Svg.Heatmap("K-composition", Matrix(3, 5, (i, j) => 0.1 * i + 0.01 * j), Labels("0.", 3), Labels("1.", 5));

        var d = Parse(svg);
        d.Root!.Name.Should().Be(S + "svg");
        ((string?)d.Root.Attribute("viewBox")).Should().MatchRegex(@"^0 0 \d+(\.\d+)? \d+(\.\d+)?$");
        d.Root.Element(S + "title")!.Value.Should().Be("K-composition");
        d.Root.Element(S + "desc")!.Value.Should().Contain("3 rows × 5 columns");
        WithClass(d, "cell").Should().HaveCount(15);
        WithClass(d, "row-labels").Single().Elements(S + "text").Select(t => t.Value).Should().Equal("0.0", "0.1", "0.2");
        WithClass(d, "column-labels").Single().Elements(S + "text").Select(t => t.Value).Should().Equal("1.0", "1.1", "1.2", "1.3", "1.4");
    }

    [Fact]
    public void A_causal_pattern_draws_only_the_lower_triangle()
    {
        var svg = Svg.AttentionPattern("Head 1.1", Matrix(6, 6, (i, j) => j <= i ? 1.0 / (i + 1) : 0), Labels("t", 6));

        var cells = WithClass(Parse(svg), "cell");
        cells.Should().HaveCount(6 * 7 / 2);
        cells.Should().OnlyContain(c => Num(c, "x") <= Num(cells[0], "x") + (Num(c, "y") - Num(cells[0], "y")) + 1e-6,
            "every drawn cell is on or below the diagonal");
    }

    [Theory]
    [InlineData(62)]
    [InlineData(31)]
    [InlineData(200)]
    public void A_long_patterns_labels_stand_at_least_a_line_of_text_apart_and_keep_the_first_position(int n)
    {
        var svg = Svg.AttentionPattern("Head 1.1", Matrix(n, n, (i, j) => j <= i ? 1.0 / (i + 1) : 0), Labels("token", n));

        var d = Parse(svg);
        var font = Num(WithClass(d, "column-labels").Single(), "font-size");
        var columns = WithClass(d, "column-labels").Single().Elements(S + "text").ToList();
        var rows = WithClass(d, "row-labels").Single().Elements(S + "text").ToList();
        columns[0].Value.Should().Be("token0");
        rows[0].Value.Should().Be("token0");
        columns.Count.Should().BeGreaterThan(4, "thinned, not dropped");
        rows.Count.Should().BeGreaterThan(4);

        // Column labels are rotated 45°: two neighbours' baselines are (Δx) · sin 45° apart across the text.
        var rotated = ((string?)columns[0].Attribute("transform"))?.StartsWith("rotate(-45", StringComparison.Ordinal) == true;
        var columnGaps = columns.Zip(columns.Skip(1), (a, b) => (Num(b, "x") - Num(a, "x")) * (rotated ? Math.Sqrt(0.5) : 1));
        columnGaps.Should().OnlyContain(g => g >= font, "rotated column labels closer than their font size overlap");
        rows.Zip(rows.Skip(1), (a, b) => Num(b, "y") - Num(a, "y")).Should().OnlyContain(g => g >= font);
        WithClass(d, "cell").Should().HaveCount(n * (n + 1) / 2, "every cell is still drawn");
    }

    [Fact]
    public void Heatmap_cells_darken_as_the_value_grows_on_the_sequential_scale()
    {
        var values = Matrix(1, 11, (_, j) => j / 10.0);
        var cells = WithClass(Parse(Svg.Heatmap("ramp", values, ["r"], Labels("c", 11))), "cell");

        var luminance = cells.Select(c => Rgb.Parse((string)c.Attribute("fill")!).Luminance).ToList();
        luminance.Should().BeInDescendingOrder().And.OnlyHaveUniqueItems();
    }

    [Fact]
    public void Signed_data_gets_the_diverging_scale_blue_below_zero_red_above()
    {
        var values = Matrix(1, 5, (_, j) => (j - 2) * 0.5); // −1 … 1
        var cells = WithClass(Parse(Svg.Heatmap("signed", values, ["r"], Labels("c", 5))), "cell")
            .Select(c => Rgb.Parse((string)c.Attribute("fill")!)).ToList();

        cells[0].B.Should().BeGreaterThan(cells[0].R);
        cells[1].B.Should().BeGreaterThan(cells[1].R);
        cells[3].R.Should().BeGreaterThan(cells[3].B);
        cells[4].R.Should().BeGreaterThan(cells[4].B);
        cells[2].Luminance.Should().BeGreaterThan(0.9, "zero is near white");
        cells[0].Luminance.Should().BeLessThan(cells[1].Luminance, "−1 is darker than −0.5");
        cells[4].Luminance.Should().BeLessThan(cells[3].Luminance, "1 is darker than 0.5");
    }

    [Fact]
    public void NaN_cells_are_hatched_no_data_and_the_file_stays_valid()
    {
        var values = Matrix(2, 2, (i, j) => i + j);
        values[0, 1] = double.NaN;

        var svg = Svg.Heatmap("with a hole", values, ["a", "b"], ["x", "y"], new HeatmapOptions { ShowValues = true });

        var d = Parse(svg);
        var hole = WithClass(d, "nodata").Should().ContainSingle().Subject;
        var fill = (string)hole.Attribute("fill")!;
        fill.Should().StartWith("url(#");
        var id = fill["url(#".Length..^1];
        d.Descendants(S + "pattern").Should().ContainSingle(p => (string?)p.Attribute("id") == id, "the hatch the cell points at exists");
        hole.Element(S + "title")!.Value.Should().Be("a × y: no data");
        d.Descendants(S + "text").Select(t => t.Value).Should().Contain(["no data", "n/a"]);
        svg.Should().NotContain("NaN");
    }

    [Fact]
    public void An_all_NaN_heatmap_still_renders()
    {
        var svg = Svg.Heatmap("empty", Matrix(2, 3, (_, _) => double.NaN), ["a", "b"], ["x", "y", "z"]);

        WithClass(Parse(svg), "nodata").Should().HaveCount(6);
        svg.Should().NotContain("NaN").And.NotContain("Infinity");
    }

    [Fact]
    public void Labels_stay_text_however_hostile()
    {
        const string hostile = "<script>alert('x')</script> & \"co\"";
        var svg = Svg.Heatmap(hostile, Matrix(2, 2, (i, j) => i - j), [hostile, "a|b"], ["\n", "x&y"]);

        var d = Parse(svg);
        d.Descendants().Should().NotContain(e => e.Name.LocalName == "script");
        d.Root!.Element(S + "title")!.Value.Should().Be(hostile);
        var texts = d.Descendants(S + "text").Select(t => t.Value).ToList();
        texts.Should().Contain(hostile).And.Contain("x&y").And.Contain("\\n", "a newline token is shown as an escape, not collapsed away");
    }

    [Fact]
    public void Heatmap_rejects_labels_that_do_not_match_the_matrix()
    {
        var act = () => Svg.Heatmap("m", Matrix(2, 3, (_, _) => 0), ["a"], ["x", "y", "z"]);

        act.Should().Throw<ArgumentException>().WithMessage("Heatmap 'm' has 2 rows but 1 row labels.*");
    }

    [Fact]
    public void Charts_inlined_together_never_share_an_id()
    {
        var a = Svg.Heatmap("a", Matrix(2, 2, (_, _) => double.NaN), ["a", "b"], ["x", "y"]);
        var b = Svg.Heatmap("b", Matrix(2, 2, (_, _) => double.NaN), ["a", "b"], ["x", "y"]);

        var ids = new[] { a, b }.SelectMany(s => Parse(s).Descendants().Select(e => (string?)e.Attribute("id")).OfType<string>()).ToList();
        ids.Should().OnlyHaveUniqueItems().And.HaveCountGreaterThan(4);
    }

    [Fact]
    public void Output_does_not_depend_on_the_current_culture()
    {
        var values = Matrix(2, 2, (i, j) => 0.123456 * (i - j) + 0.5);
        var before = CultureInfo.CurrentCulture;
        string invariant, german;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            invariant = Svg.Heatmap("h", values, ["a", "b"], ["x", "y"]) + Svg.LineChart("l", [new Series("s", [0.5, 1.5], [2.25, 1.125])]);
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            german = Svg.Heatmap("h", values, ["a", "b"], ["x", "y"]) + Svg.LineChart("l", [new Series("s", [0.5, 1.5], [2.25, 1.125])]);
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }

        german.Should().Be(invariant);
        invariant.Should().MatchRegex("x=\"\\d+\\.\\d+\"", "coordinates use a decimal point");
    }

    [Fact]
    public void The_complex_plane_plots_each_finite_point_where_it_belongs()
    {
        Complex[] points = [new(1, 0), new(0, 1), new(-0.5, -0.5), new(double.NaN, 0), new(2, 0)];

        var d = Parse(Svg.ComplexPlane("OV eigenvalues of head 1.1 (copying 0.93)", points));

        var dots = WithClass(d, "point");
        dots.Should().HaveCount(4);
        d.Root!.Element(S + "desc")!.Value.Should().Contain("1 not finite, omitted");
        var circle = WithClass(d, "unit-circle").Single();
        var (cx, cy, r) = (Num(circle, "cx"), Num(circle, "cy"), Num(circle, "r"));
        bool At(double re, double im) => dots.Any(p => Math.Abs(Num(p, "cx") - (cx + re * r)) < 0.01 && Math.Abs(Num(p, "cy") - (cy - im * r)) < 0.01);
        At(1, 0).Should().BeTrue("1 lies on the unit circle, right of the origin");
        At(0, 1).Should().BeTrue("i lies on the unit circle, above the origin");
        At(-0.5, -0.5).Should().BeTrue();
        At(2, 0).Should().BeTrue();
        dots.Where(p => Num(p, "cx") > cx).Should().OnlyContain(p => (string)p.Attribute("fill")! == "#b2182b", "positive real parts are red");
    }

    [Fact]
    public void Bar_lengths_are_proportional_to_values_and_verdicts_are_marked_three_ways()
    {
        Bar[] bars =
        [
            new("holds", 0.8, 0.5, Reports.Verdict.Holds),
            new("fails", 0.2, 0.5, Reports.Verdict.Fails),
            new("missing", double.NaN, 0.5, Reports.Verdict.NotMeasured),
            new("negative", -0.4),
        ];

        var d = Parse(Svg.BarChart("Measured vs threshold", bars));

        var groups = WithClass(d, "bar");
        groups.Should().HaveCount(4);
        var rects = groups.Select(g => g.Element(S + "rect")).ToList();
        Num(rects[0]!, "width").Should().BeApproximately(4 * Num(rects[1]!, "width"), 0.01);
        Num(rects[3]!, "width").Should().BeApproximately(2 * Num(rects[1]!, "width"), 0.01);
        rects[2].Should().BeNull("nothing was measured");
        var zero = Num(WithClass(d, "zero").Single(), "x1");
        Num(rects[3]!, "x").Should().BeApproximately(zero - Num(rects[3]!, "width"), 0.01, "a negative bar grows left of zero");
        WithClass(d, "threshold").Should().HaveCount(3).And.OnlyContain(t => Math.Abs(Num(t, "x1") - (zero + 2.5 * Num(rects[1]!, "width"))) < 0.01);

        ((string)rects[0]!.Attribute("fill")!).Should().Be("#009e73");
        ((string)rects[1]!.Attribute("fill")!).Should().StartWith("url(#", "a failed bar is hatched, not just coloured");
        var marks = groups.Select(g => WithClass(new XDocument(g), "value").Single().Value).ToList();
        marks[0].Should().EndWith("✓ holds");
        marks[1].Should().EndWith("✗ fails");
        marks[2].Should().EndWith("not measured");
    }

    [Fact]
    public void Line_chart_draws_one_path_per_series_and_breaks_it_at_NaN()
    {
        Series[] series =
        [
            new("train", [0, 1, 2, 3, 4], [4, 3, double.NaN, 2, 1]),
            new("test", [0, 4], [4.5, 1.5]),
        ];

        var d = Parse(Svg.LineChart("Loss", series, "step", "loss"));

        var paths = WithClass(d, "series");
        paths.Should().HaveCount(2);
        var train = (string)paths[0].Attribute("d")!;
        train.Count(c => c == 'M').Should().Be(2);
        train.Count(c => c == 'L').Should().Be(2);
        var ys = train.Split(' ').Select(p => double.Parse(p[1..].Split(',')[1], CultureInfo.InvariantCulture)).ToList();
        ys.Should().BeInAscendingOrder("smaller losses are drawn lower, at larger y");
        WithClass(d, "legend").Single().Descendants(S + "text").Select(t => t.Value).Should().Equal("train", "test");
    }

    [Fact]
    public void Line_chart_names_a_series_whose_lengths_differ()
    {
        var act = () => Svg.LineChart("Loss", [new Series("train", [0, 1], [1])]);

        act.Should().Throw<ArgumentException>().WithMessage("Series 'train' has 2 x values but 1 y values.*");
    }

    [Fact]
    public void Side_by_side_keeps_every_chart_and_sums_their_widths()
    {
        var a = Svg.Heatmap("Q", Matrix(2, 2, (_, _) => 0.1), ["a", "b"], ["x", "y"]);
        var b = Svg.Heatmap("K", Matrix(2, 2, (_, _) => 0.2), ["a", "b"], ["x", "y"]);

        var d = Parse(Svg.SideBySide("Composition", [a, b], gap: 10));

        var inner = d.Root!.Elements(S + "svg").ToList();
        inner.Should().HaveCount(2);
        Num(inner[1], "x").Should().Be(Num(Parse(a).Root!, "width") + 10);
        Num(d.Root, "width").Should().Be(Num(Parse(a).Root!, "width") + Num(Parse(b).Root!, "width") + 10);
        WithClass(d, "cell").Should().HaveCount(8);
    }

    [Theory]
    [InlineData(0.934, "0.934")]
    [InlineData(12.345, "12.3")]
    [InlineData(-0.5, "−0.500")]
    [InlineData(1234, "1234")]
    [InlineData(0.00012345, "1.23e−4")]
    [InlineData(0.9996, "1.00")]
    [InlineData(0, "0")]
    [InlineData(double.NaN, "n/a")]
    public void Values_are_written_to_three_significant_digits(double value, string expected) =>
        Fmt.Value(value).Should().Be(expected);

    [Fact]
    public void Snapshot_heatmap() =>
        Snapshot.Verify(Svg.Heatmap("K-composition", Matrix(3, 3, (i, j) => i == 2 && j == 1 ? 0.514 : i == 0 && j == 2 ? double.NaN : 0.05 * (i + j)),
            ["0.0", "0.1", "0.2"], ["1.0", "1.1", "1.2"], new HeatmapOptions { RowAxisLabel = "layer-0 head", ColumnAxisLabel = "layer-1 head" }), "svg");

    [Fact]
    public void Snapshot_complex_plane() =>
        Snapshot.Verify(Svg.ComplexPlane("OV eigenvalues of head 1.1 (copying 0.93)", [new(1.5, 0), new(0.8, 0.6), new(0.8, -0.6), new(-0.3, 0)]), "svg");

    [Fact]
    public void Snapshot_bar_chart() =>
        Snapshot.Verify(Svg.BarChart("Measured vs threshold",
            [new("previous token 0.2", 0.97, 0.9, Reports.Verdict.Holds), new("Q-composition", 0.08, 0.3, Reports.Verdict.Fails), new("duplicate 1.3", double.NaN, 0.5, Reports.Verdict.NotMeasured)], "score"), "svg");

    [Fact]
    public void Snapshot_line_chart() =>
        Snapshot.Verify(Svg.LineChart("Loss", [new Series("train", [0, 100, 200, 300], [4.2, 2.1, 0.9, 0.6])], "step", "loss (nats)"), "svg");
}
