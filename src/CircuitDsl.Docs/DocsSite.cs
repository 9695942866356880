using CircuitDsl.Reports;

namespace CircuitDsl.Docs;

/// <summary>
/// A folder of documentation for checked circuit specs: <c>index.md</c>, one <c>{circuit}.md</c> per spec with
/// its pictures under <c>img/</c>, and <c>circuits.html</c>, one self-contained page of the same content.
/// </summary>
public static class DocsSite
{
    /// <summary>The name of the self-contained HTML page.</summary>
    public const string HtmlFileName = "circuits.html";

    /// <summary>The name of the Markdown index.</summary>
    public const string IndexFileName = "index.md";

    /// <summary>Writes the site for <paramref name="pages"/> into <paramref name="directory"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Write(string directory, string title, IReadOnlyList<(Document Page, CircuitReport Report)> pages)
    {
        ArgumentNullException.ThrowIfNull(pages);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var (page, _) in pages)
        {
            var name = CircuitPage.FilePrefix(page.Title) + ".md";
            var markdown = MarkdownPage.Render(page);
            markdown.WriteTo(directory, name);
            written.Add(Path.Combine(directory, name));
            written.AddRange(markdown.Images.Select(i => Path.Combine(directory, i.Path)));
        }

        var index = new DocumentBuilder(title).Add(Introduction(pages, link: p => CircuitPage.FilePrefix(p.Title) + ".md")).Build();
        MarkdownPage.Render(index).WriteTo(directory, IndexFileName);
        written.Add(Path.Combine(directory, IndexFileName));

        var html = HtmlPage.Render(title, [Introduction(pages, link: p => "#" + Anchor(p.Title))], [.. pages.Select(p => p.Page)]);
        File.WriteAllText(Path.Combine(directory, HtmlFileName), html);
        written.Add(Path.Combine(directory, HtmlFileName));
        return written;
    }

    private static Table Introduction(IReadOnlyList<(Document Page, CircuitReport Report)> pages, Func<Document, string> link) =>
        new(["circuit", "model", "hypotheses", "hold", "fail", "not measured"],
            [.. pages.Select(p => (IReadOnlyList<Inline>)
            [
                new Inline.Link(p.Page.Title, link(p.Page)), new Inline.Code(p.Report.Model), Count(p.Report, null),
                Count(p.Report, Verdict.Holds), Count(p.Report, Verdict.Fails), Count(p.Report, Verdict.NotMeasured),
            ])],
            [Align.Left, Align.Left, Align.Right, Align.Right, Align.Right, Align.Right]);

    private static string Count(CircuitReport report, Verdict? verdict) =>
        report.Evidence.Count(e => verdict is null || e.Verdict == verdict).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The anchor HtmlPage gives a chapter titled <paramref name="title"/> (its first heading of that text).</summary>
    private static string Anchor(string title) => new Slugger().Slug(title);
}
