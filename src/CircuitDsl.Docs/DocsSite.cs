using CircuitDsl.Reports;

namespace CircuitDsl.Docs;

/// <summary>
/// A folder of documentation for checked circuit specs: <c>index.md</c>, one <c>{circuit}.md</c> per spec with
/// its pictures under <c>img/</c>, <c>circuits.html</c>, one self-contained page of the same content, and one
/// interactive <c>view-{model}.html</c> (<see cref="ExplorerPage"/>) per model, linked from it.
/// </summary>
public static class DocsSite
{
    /// <summary>The name of the self-contained HTML page.</summary>
    public const string HtmlFileName = "circuits.html";

    /// <summary>The name of the Markdown index.</summary>
    public const string IndexFileName = "index.md";

    /// <summary>Writes the site for <paramref name="pages"/> into <paramref name="directory"/>; returns the files written.</summary>
    /// <param name="directory">The folder to write into.</param>
    /// <param name="title">The site's title.</param>
    /// <param name="pages">Each checked circuit's page and report.</param>
    /// <param name="views">Each model's interactive view, by model name; none when null.</param>
    public static IReadOnlyList<string> Write(string directory, string title, IReadOnlyList<(Document Page, CircuitReport Report)> pages,
        IReadOnlyList<(string Model, Circuits.Exploration View)>? views = null)
    {
        ArgumentNullException.ThrowIfNull(pages);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var viewLinks = new List<Inline> { new Inline.Text("Interactive views of an example sequence (attention from each token, logit lens, direct logit attribution):") };
        foreach (var (model, view) in views ?? [])
        {
            var name = "view-" + CircuitPage.FilePrefix(model) + ".html";
            File.WriteAllText(Path.Combine(directory, name), ExplorerPage.Render($"{model}: the first sequence of its detection batch", view));
            written.Add(Path.Combine(directory, name));
            viewLinks.Add(new Inline.Text(" "));
            viewLinks.Add(new Inline.Link(model, name));
        }

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

        Block[] introduction = views is { Count: > 0 }
            ? [Introduction(pages, link: p => "#" + Anchor(p.Title)), new Paragraph(viewLinks)]
            : [Introduction(pages, link: p => "#" + Anchor(p.Title))];
        var html = HtmlPage.Render(title, introduction, [.. pages.Select(p => p.Page)]);
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
