using System.Text;

namespace CircuitDsl.Docs;

/// <summary>
/// One self-contained HTML file: inline CSS, every SVG inlined, no scripts, fonts, images or links to fetch. It has a
/// table of contents (a sticky sidebar on wide screens, a block at the top on narrow ones and in print), booktabs-style
/// tables with tabular figures, and print rules that keep figures and tables whole.
/// </summary>
public static class HtmlPage
{
    /// <summary>One document as a page.</summary>
    public static string Render(Document document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return Render(document.Title, [], [document with { Title = "" }]);
    }

    /// <summary>
    /// Several documents (e.g. one per circuit spec) as chapters of one page titled <paramref name="title"/>:
    /// each document's title becomes a level-2 heading and its headings move one level down.
    /// </summary>
    /// <param name="title">The page's title.</param>
    /// <param name="introduction">Blocks before the first chapter (e.g. a summary table).</param>
    /// <param name="chapters">The documents, in order; one with an empty title adds its blocks without a heading of its own.</param>
    public static string Render(string title, IReadOnlyList<Block> introduction, IReadOnlyList<Document> chapters)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(introduction);
        ArgumentNullException.ThrowIfNull(chapters);
        var slugs = new Slugger();
        var toc = new List<(int Level, string Id, string Text)>();
        var body = new StringBuilder();
        var figure = 0;
        var titleId = slugs.Slug(title);

        void Blocks(IEnumerable<Block> blocks, int shift)
        {
            foreach (var block in blocks)
            {
                switch (block)
                {
                    case Heading h:
                        var level = Math.Min(6, h.Level + shift);
                        var id = slugs.Slug(h.Text);
                        if (level <= 3) toc.Add((level, id, h.Text));
                        body.Append("<h").Append(level).Append(" id=\"").Append(Fmt.Xml(id)).Append("\">").Append(Fmt.Xml(Fmt.Label(h.Text))).Append("</h").Append(level).Append(">\n");
                        break;
                    case Paragraph p:
                        body.Append("<p>");
                        foreach (var i in p.Content) body.Append(Inline(i));
                        body.Append("</p>\n");
                        break;
                    case Table t:
                        TableHtml(body, t);
                        break;
                    case Figure f:
                        figure++;
                        body.Append("<figure id=\"figure-").Append(figure).Append("\">\n").Append(f.Svg.TrimEnd('\n')).Append('\n')
                            .Append("<figcaption><span class=\"figure-number\">Figure ").Append(figure).Append(".</span> ")
                            .Append(Fmt.Xml(f.Caption, keepLineBreaks: true)).Append("</figcaption>\n</figure>\n");
                        break;
                    case CodeBlock c:
                        body.Append("<pre><code").Append(c.Language is null ? "" : " class=\"language-" + Fmt.Xml(c.Language) + "\"").Append('>')
                            .Append(Fmt.Xml(c.Text.TrimEnd('\n'), keepLineBreaks: true)).Append("</code></pre>\n");
                        break;
                    default:
                        throw new ArgumentException($"Unknown block {block.GetType().Name}.", nameof(chapters));
                }
            }
        }

        Blocks(introduction, 0);
        foreach (var chapter in chapters)
        {
            if (chapter.Title.Length == 0)
            {
                Blocks(chapter.Blocks, 0);
                continue;
            }

            var id = slugs.Slug(chapter.Title);
            toc.Add((2, id, chapter.Title));
            body.Append("<section class=\"chapter\">\n<h2 id=\"").Append(Fmt.Xml(id)).Append("\">").Append(Fmt.Xml(Fmt.Label(chapter.Title))).Append("</h2>\n");
            Blocks(chapter.Blocks, 1);
            body.Append("</section>\n");
        }

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"generator\" content=\"CircuitDsl\">\n")
            .Append("<title>").Append(Fmt.Xml(Fmt.Label(title))).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n<div class=\"layout\">\n");
        if (toc.Count > 0)
        {
            html.Append("<nav class=\"toc\" aria-label=\"Contents\">\n<p class=\"toc-title\">Contents</p>\n<ol>\n");
            var open = false;
            foreach (var (level, id, text) in toc)
            {
                if (level == 2 && open) html.Append("</ol></li>\n");
                if (level == 2)
                {
                    html.Append("<li><a href=\"#").Append(Fmt.Xml(id)).Append("\">").Append(Fmt.Xml(Fmt.Label(text))).Append("</a><ol>\n");
                    open = true;
                }
                else
                {
                    html.Append(open ? "" : "<li><ol>\n").Append("<li><a href=\"#").Append(Fmt.Xml(id)).Append("\">").Append(Fmt.Xml(Fmt.Label(text))).Append("</a></li>\n");
                    open = true;
                }
            }

            if (open) html.Append("</ol></li>\n");
            html.Append("</ol>\n</nav>\n");
        }

        html.Append("<main>\n<h1 id=\"").Append(Fmt.Xml(titleId)).Append("\">").Append(Fmt.Xml(Fmt.Label(title))).Append("</h1>\n")
            .Append(body).Append("</main>\n</div>\n</body>\n</html>\n");
        return html.ToString().Replace("<ol>\n</ol>", "", StringComparison.Ordinal);
    }

    private static void TableHtml(StringBuilder body, Table t)
    {
        static string AlignClass(Align a) => a switch { Align.Right => " class=\"num\"", Align.Center => " class=\"center\"", _ => "" };
        body.Append("<div class=\"table-wrap\"><table>\n<thead><tr>");
        for (var j = 0; j < t.Header.Count; j++)
            body.Append("<th scope=\"col\"").Append(AlignClass(t.Alignments[j])).Append('>').Append(Fmt.Xml(Fmt.Label(t.Header[j]))).Append("</th>");
        body.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in t.Rows)
        {
            body.Append("<tr>");
            for (var j = 0; j < row.Count; j++) body.Append("<td").Append(AlignClass(t.Alignments[j])).Append('>').Append(Inline(row[j])).Append("</td>");
            body.Append("</tr>\n");
        }

        body.Append("</tbody>\n</table></div>\n");
    }

    private static string Inline(Inline inline) => inline switch
    {
        Inline.Text t => Fmt.Xml(t.Value, keepLineBreaks: true),
        Inline.Code c => "<code>" + Fmt.Xml(c.Value) + "</code>",
        Inline.Strong s => "<strong>" + Fmt.Xml(s.Value, keepLineBreaks: true) + "</strong>",
        Inline.Emphasis e => "<em>" + Fmt.Xml(e.Value, keepLineBreaks: true) + "</em>",
        Inline.Link l => "<a href=\"" + Fmt.Xml(l.Href) + "\">" + Fmt.Xml(l.Value, keepLineBreaks: true) + "</a>",
        Inline.Verdict v => "<span class=\"verdict " + v.Outcome switch { Reports.Verdict.Holds => "holds", Reports.Verdict.Fails => "fails", _ => "not-measured" } + "\">" + Fmt.Xml(v.Words) + "</span>",
        _ => throw new ArgumentException($"Unknown inline {inline.GetType().Name}.", nameof(inline)),
    };

    private const string Css = """
        :root { color-scheme: light; --ink: #1f2328; --muted: #5f6670; --rule: #e6e6e9; --accent: #3b5bdb; --mono: ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace; }
        * { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; }
        body { margin: 0; color: var(--ink); background: #fff; font: 16px/1.6 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif; font-kerning: normal; }
        .layout { display: grid; grid-template-columns: 15rem minmax(0, 52rem); gap: 3rem; justify-content: center; padding: 2.5rem 2rem 4rem; }
        nav.toc { position: sticky; top: 2rem; align-self: start; max-height: calc(100vh - 4rem); overflow-y: auto; font-size: 0.85rem; line-height: 1.45; border-right: 1px solid var(--rule); padding-right: 1.25rem; }
        .toc-title { margin: 0 0 0.6rem; font-size: 0.72rem; font-weight: 650; letter-spacing: 0.08em; text-transform: uppercase; color: var(--muted); }
        nav.toc ol { list-style: none; margin: 0; padding: 0; }
        nav.toc li { margin: 0.3rem 0; }
        nav.toc li > a { font-weight: 600; }
        nav.toc ol ol { margin: 0.2rem 0 0.6rem 0.75rem; }
        nav.toc ol ol a { font-weight: 400; color: var(--muted); }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        main { min-width: 0; }
        h1 { font-size: 2.1rem; line-height: 1.2; font-weight: 700; letter-spacing: -0.015em; margin: 0 0 1.5rem; }
        h2 { font-size: 1.45rem; line-height: 1.3; font-weight: 650; margin: 2.75rem 0 0.75rem; padding-top: 1.25rem; border-top: 1px solid var(--rule); }
        h3 { font-size: 1.12rem; font-weight: 650; margin: 2rem 0 0.5rem; }
        h4, h5, h6 { font-size: 1rem; font-weight: 650; margin: 1.5rem 0 0.4rem; }
        main > h2:first-of-type, section.chapter:first-of-type > h2 { border-top: none; padding-top: 0; margin-top: 1rem; }
        p { margin: 0 0 1rem; max-width: 42rem; }
        code { font-family: var(--mono); font-size: 0.86em; background: #f3f4f6; padding: 0.1em 0.35em; border-radius: 4px; }
        pre { font-family: var(--mono); font-size: 0.82rem; line-height: 1.5; background: #f7f8fa; border: 1px solid #e7e8ec; border-radius: 6px; padding: 0.9rem 1rem; overflow-x: auto; margin: 0 0 1.25rem; }
        pre code { background: none; padding: 0; font-size: inherit; }
        .table-wrap { overflow-x: auto; margin: 0.5rem 0 1.5rem; }
        table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; border-top: 1.5px solid var(--ink); border-bottom: 1.5px solid var(--ink); }
        th { text-align: left; font-weight: 600; padding: 0.45rem 0.9rem; border-bottom: 1px solid var(--ink); white-space: nowrap; }
        td { padding: 0.4rem 0.9rem; border-bottom: 1px solid var(--rule); vertical-align: top; }
        tbody tr:last-child td { border-bottom: none; }
        th.num, td.num { text-align: right; }
        th.center, td.center { text-align: center; }
        td code { white-space: nowrap; }
        td:first-child { min-width: 9rem; }
        .verdict { display: inline-block; padding: 0 0.55em; border-radius: 999px; font-size: 0.85em; font-weight: 600; white-space: nowrap; }
        .verdict.holds { background: #ddf3eb; color: #00664a; }
        .verdict.fails { background: #fde4d6; color: #9b3a00; }
        .verdict.not-measured { background: #efeff1; color: #5f6670; font-weight: 500; }
        figure { margin: 1.25rem 0 2rem; }
        figure > svg { display: block; max-width: calc(100% + 16px); height: auto; margin-left: -16px; }
        figcaption { font-size: 0.88rem; line-height: 1.5; color: var(--muted); margin-top: 0.5rem; max-width: 42rem; }
        .figure-number { font-weight: 650; color: var(--ink); }
        @media (max-width: 60rem) {
          .layout { display: block; padding: 1.5rem 1.25rem 3rem; }
          nav.toc { position: static; max-height: none; border-right: none; border-bottom: 1px solid var(--rule); padding: 0 0 1rem; margin-bottom: 1.5rem; }
        }
        @media print {
          @page { margin: 16mm 14mm; }
          body { font-size: 10pt; }
          .layout { display: block; padding: 0; }
          nav.toc { position: static; max-height: none; overflow: visible; border: none; padding: 0; margin-bottom: 1.5rem; break-after: page; }
          a { color: inherit; }
          h2, h3, h4 { break-after: avoid; }
          figure, table, pre { break-inside: avoid; }
          pre { white-space: pre-wrap; }
          .table-wrap { overflow: visible; }
          .verdict { border: 1px solid currentColor; }
        }

        """;
}
