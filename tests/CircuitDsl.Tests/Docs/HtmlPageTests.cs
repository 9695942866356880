using System.Text.RegularExpressions;
using System.Xml.Linq;
using CircuitDsl.Docs;

namespace CircuitDsl.Tests.Docs;

public sealed partial class HtmlPageTests
{
    private static readonly string Html = SamplePage.Html();

    [Fact]
    public void The_page_is_one_file_that_fetches_nothing()
    {
        Html.Should().StartWith("<!DOCTYPE html>");
        Html.Should().NotContain("<link").And.NotContain("<script").And.NotContain("@import").And.NotContain("<img").And.NotContain("<iframe");
        Html.Should().NotMatchRegex(@"\b(src|href)\s*=\s*""(https?:)?//", "nothing is loaded from elsewhere");
        Html.Should().NotMatchRegex(@"url\(\s*['""]?(https?:)?//");
        Html.Should().NotMatchRegex(@"\bsrc\s*=", "every picture is inline");
        Url().Matches(Html).Select(m => m.Value).Should().OnlyContain(u => u == "http://www.w3.org/2000/svg", "the only URL is the SVG namespace");
    }

    [Fact]
    public void Every_figure_is_inlined_as_well_formed_svg_in_its_figure()
    {
        var figures = Figure().Matches(Html).Select(m => m.Groups[1].Value).ToList();

        figures.Should().HaveCount(SamplePage.Induction().Blocks.OfType<Figure>().Count());
        foreach (var svg in figures) XElement.Parse(svg).Name.LocalName.Should().Be("svg");
    }

    [Fact]
    public void The_table_of_contents_links_to_headings_that_exist()
    {
        var nav = Html[Html.IndexOf("<nav", StringComparison.Ordinal)..Html.IndexOf("</nav>", StringComparison.Ordinal)];
        var targets = Href().Matches(nav).Select(m => m.Groups[1].Value).ToList();

        targets.Should().Contain(["induction-heads", "skip-trigrams", "evidence"]);
        targets.Should().OnlyHaveUniqueItems();
        foreach (var t in targets) Html.Should().Contain($"id=\"{t}\"");
    }

    [Fact]
    public void Chapters_shift_their_headings_one_level_down()
    {
        Html.Should().Contain("<h2 id=\"induction-heads\">Induction heads</h2>").And.Contain("<h3 id=\"hypotheses\">Hypotheses</h3>")
            .And.Contain("<h4 id=\"composition\">Composition</h4>");
        Regex.Matches(Html, "<h1").Should().ContainSingle();
    }

    [Fact]
    public void Text_is_escaped_and_tables_keep_their_alignment()
    {
        var doc = new DocumentBuilder("A <b> & c")
            .Paragraph("<script>alert(1)</script>", new Inline.Code("x<y"), new Inline.Link("l", "a\"b"))
            .Table(["name", "value"], [["a|b", "1.5"]], [Align.Left, Align.Right])
            .Build();

        var html = HtmlPage.Render(doc);

        html.Should().Contain("<title>A &lt;b&gt; &amp; c</title>");
        html.Should().Contain("<p>&lt;script&gt;alert(1)&lt;/script&gt;<code>x&lt;y</code><a href=\"a&quot;b\">l</a></p>");
        html.Should().NotContain("<script");
        html.Should().Contain("<td>a|b</td><td class=\"num\">1.5</td>");
    }

    [Fact]
    public void Verdicts_are_words_as_well_as_colours()
    {
        Html.Should().Contain("<span class=\"verdict holds\">✓ holds</span>")
            .And.Contain("<span class=\"verdict fails\">✗ fails</span>")
            .And.Contain("<span class=\"verdict not-measured\">– not measured</span>");
    }

    [Fact]
    public void Markdown_and_HTML_say_the_same_thing()
    {
        var doc = SamplePage.Induction();
        var md = MarkdownPage.Render(doc).Text;
        var html = HtmlPage.Render(doc);

        var htmlText = System.Net.WebUtility.HtmlDecode(html);
        var mdText = Regex.Replace(md, @"\\(\p{P}|\p{S})", "$1");
        foreach (var caption in doc.Blocks.OfType<Figure>().Select(f => f.Caption))
        {
            htmlText.Should().Contain(caption);
            mdText.Should().Contain(caption);
        }

        Regex.Matches(html, "<tr>").Count.Should().Be(doc.Blocks.OfType<Table>().Sum(t => t.Rows.Count + 1));
        md.Split('\n').Count(l => l.StartsWith("| ", StringComparison.Ordinal)).Should().Be(doc.Blocks.OfType<Table>().Sum(t => t.Rows.Count + 2), "header, rule and rows");
    }

    [GeneratedRegex(@"https?://[^\s""'<>)]+")]
    private static partial Regex Url();

    [GeneratedRegex(@"<figure id=""figure-\d+"">\n(<svg.*?</svg>)\n<figcaption>", RegexOptions.Singleline)]
    private static partial Regex Figure();

    [GeneratedRegex(@"href=""#([^""]+)""")]
    private static partial Regex Href();
}
