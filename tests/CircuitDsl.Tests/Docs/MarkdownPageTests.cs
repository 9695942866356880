using CircuitDsl.Docs;
using CircuitDsl.Testing;

namespace CircuitDsl.Tests.Docs;

public sealed class MarkdownPageTests
{
    private static readonly string Chart = Svg.BarChart("b", [new Bar("x", 1)]);

    private static int UnescapedPipes(string line) => line.Where((c, i) => c == '|' && (i == 0 || line[i - 1] != '\\')).Count();

    [Fact]
    public void Table_cells_escape_pipes_so_every_row_keeps_its_columns()
    {
        var doc = new DocumentBuilder("t")
            .Table(["a|b", "code"], [["x | y", new Inline.Code("a|b")], ["plain", "||"]])
            .Build();

        var lines = MarkdownPage.Render(doc).Text.Split('\n').Where(l => l.StartsWith('|')).ToList();

        lines.Should().HaveCount(4);
        lines.Should().OnlyContain(l => UnescapedPipes(l) == 3, "two columns need three unescaped pipes");
        lines[2].Should().Be("| x \\| y | `a\\|b` |");
    }

    [Fact]
    public void Text_is_never_read_as_markup()
    {
        var doc = new DocumentBuilder("*Title* <b>")
            .Paragraph("# not a heading\n1. not a list\n*not bold* [not](a link) <script>x</script> W_Q & co &amp;")
            .Build();

        var text = MarkdownPage.Render(doc).Text;

        text.Should().StartWith("# \\*Title\\* \\<b\\>\n");
        text.Should().Contain("\\# not a heading\n1\\. not a list\n\\*not bold\\* \\[not\\](a link) \\<script\\>x\\</script\\> W\\_Q & co \\&amp;");
    }

    [Fact]
    public void Figures_link_their_svg_files_and_list_them_for_writing()
    {
        var doc = new DocumentBuilder("t").Figure(Chart, "Bars [of] things", "bars.svg").Build();

        var page = MarkdownPage.Render(doc, "img");

        page.Text.Should().Contain("![Bars \\[of\\] things](img/bars.svg)\n\n*Figure 1.* Bars \\[of\\] things");
        page.Images.Should().Equal(new SvgFile("img/bars.svg", Chart));
    }

    [Fact]
    public void Two_different_figures_may_not_share_a_file_name()
    {
        var other = Svg.BarChart("c", [new Bar("y", 2)]);
        var doc = new DocumentBuilder("Spec").Figure(Chart, "one", "a.svg").Figure(other, "two", "a.svg").Build();

        var act = () => MarkdownPage.Render(doc);

        act.Should().Throw<ArgumentException>().WithMessage("Two different figures of 'Spec' are both named a.svg.*");
    }

    [Fact]
    public void Figure_rejects_a_path_or_broken_svg()
    {
        FluentActions.Invoking(() => new Figure(Chart, "c", "../x.svg")).Should().Throw<ArgumentException>().WithMessage("*'../x.svg'*");
        FluentActions.Invoking(() => new Figure("<svg><g></svg>", "c", "x.svg")).Should().Throw<ArgumentException>().WithMessage("Figure 'x.svg' is not well-formed SVG*");
    }

    [Fact]
    public void Code_fences_outgrow_the_backticks_inside()
    {
        var doc = new DocumentBuilder("t").Code("a ``` b", "csharp").Build();

        MarkdownPage.Render(doc).Text.Should().Contain("````csharp\na ``` b\n````");
    }

    [Fact]
    public void A_table_row_of_the_wrong_width_is_refused_with_its_number()
    {
        var act = () => new Table(["a", "b"], [["1", "2"], ["3"]]);

        act.Should().Throw<ArgumentException>().WithMessage("Table row 2 has 1 cells but the header (a, b) has 2.*");
    }

    [Fact]
    public void WriteTo_writes_the_page_and_its_images()
    {
        var dir = Directory.CreateTempSubdirectory("circuitdsl-md").FullName;
        try
        {
            MarkdownPage.Render(new DocumentBuilder("t").Figure(Chart, "c", "b.svg").Build()).WriteTo(dir, "page.md");

            File.ReadAllText(Path.Combine(dir, "page.md")).Should().Contain("](img/b.svg)");
            File.ReadAllText(Path.Combine(dir, "img", "b.svg")).Should().Be(Chart);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Snapshot_induction_page() => Snapshot.Verify(MarkdownPage.Render(SamplePage.Induction()).Text, "md");
}
