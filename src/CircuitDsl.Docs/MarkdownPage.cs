using System.Text;

namespace CircuitDsl.Docs;

/// <summary>A picture to save beside a Markdown page.</summary>
/// <param name="Path">Its path relative to the page, with '/' separators (e.g. <c>img/composition.svg</c>).</param>
/// <param name="Content">The SVG text.</param>
public sealed record SvgFile(string Path, string Content);

/// <summary>A rendered Markdown page and the pictures it links to.</summary>
/// <param name="Text">The Markdown (GitHub-flavoured).</param>
/// <param name="Images">The SVG files the page references, relative to it.</param>
public sealed record MarkdownPage(string Text, IReadOnlyList<SvgFile> Images)
{
    /// <summary>
    /// Renders <paramref name="document"/> as GitHub-flavoured Markdown. Figures become image links to
    /// <c>{imageFolder}/{FileName}</c> with a numbered caption; all text is escaped, so nothing in it is read as markup.
    /// </summary>
    /// <exception cref="ArgumentException">Two figures share a file name with different pictures.</exception>
    public static MarkdownPage Render(Document document, string imageFolder = "img")
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(imageFolder);
        var md = new StringBuilder();
        var images = new List<SvgFile>();
        md.Append("# ").Append(Escape(Fmt.Label(document.Title), lineStart: false)).Append("\n\n");
        var figure = 0;
        foreach (var block in document.Blocks)
        {
            switch (block)
            {
                case Heading h:
                    md.Append('#', h.Level).Append(' ').Append(Escape(Fmt.Label(h.Text), lineStart: false)).Append("\n\n");
                    break;
                case Paragraph p:
                    md.Append(Inlines(p.Content, inTable: false)).Append("\n\n");
                    break;
                case Table t:
                    TableRows(md, t);
                    md.Append('\n');
                    break;
                case Figure f:
                    figure++;
                    var path = imageFolder.Length == 0 ? f.FileName : imageFolder.TrimEnd('/') + "/" + f.FileName;
                    var existing = images.Find(i => i.Path == path);
                    if (existing is not null && existing.Content != f.Svg)
                        throw new ArgumentException($"Two different figures of '{document.Title}' are both named {f.FileName}.", nameof(document));
                    if (existing is null) images.Add(new SvgFile(path, f.Svg));
                    var alt = Escape(Fmt.Label(f.Caption), lineStart: false);
                    md.Append("![").Append(alt).Append("](").Append(path).Append(")\n\n");
                    md.Append("*Figure ").Append(figure).Append(".* ").Append(Escape(Fmt.Label(f.Caption), lineStart: false)).Append("\n\n");
                    break;
                case CodeBlock c:
                    var fence = new string('`', Math.Max(3, LongestRun(c.Text, '`') + 1));
                    md.Append(fence).Append(c.Language ?? "").Append('\n').Append(c.Text.TrimEnd('\n')).Append('\n').Append(fence).Append("\n\n");
                    break;
                default:
                    throw new ArgumentException($"Unknown block {block.GetType().Name} in '{document.Title}'.", nameof(document));
            }
        }

        return new MarkdownPage(md.ToString().TrimEnd('\n') + "\n", images);
    }

    /// <summary>Writes the page to <paramref name="directory"/>/<paramref name="fileName"/> and its pictures beside it.</summary>
    public void WriteTo(string directory, string fileName)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, fileName), Text);
        foreach (var image in Images)
        {
            var path = Path.Combine(directory, image.Path.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, image.Content);
        }
    }

    private static void TableRows(StringBuilder md, Table t)
    {
        md.Append('|');
        foreach (var h in t.Header) md.Append(' ').Append(Cell(Escape(Fmt.Label(h), lineStart: false))).Append(" |");
        md.Append("\n|");
        foreach (var a in t.Alignments) md.Append(a switch { Align.Right => " ---: |", Align.Center => " :---: |", _ => " --- |" });
        md.Append('\n');
        foreach (var row in t.Rows)
        {
            md.Append('|');
            foreach (var cell in row) md.Append(' ').Append(Cell(Inline(cell, inTable: true))).Append(" |");
            md.Append('\n');
        }
    }

    private static string Cell(string s) => s.Length == 0 ? " " : s;

    private static string Inlines(IEnumerable<Inline> content, bool inTable)
    {
        var sb = new StringBuilder();
        foreach (var i in content) sb.Append(Inline(i, inTable));
        var text = sb.ToString();
        return inTable ? text : EscapeLineStarts(text);
    }

    private static string Inline(Inline inline, bool inTable)
    {
        string OneLine(string s) => inTable ? Fmt.Label(s.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ')) : s;
        return inline switch
        {
            Inline.Text t => Escape(OneLine(t.Value), lineStart: false),
            Inline.Code c => CodeSpan(OneLine(c.Value), inTable),
            Inline.Strong s => "**" + Escape(OneLine(s.Value), lineStart: false) + "**",
            Inline.Emphasis e => "*" + Escape(OneLine(e.Value), lineStart: false) + "*",
            Inline.Link l => "[" + Escape(OneLine(l.Value), lineStart: false) + "](" + Href(l.Href) + ")",
            Inline.Verdict v => v.Outcome == Reports.Verdict.NotMeasured ? v.Words : "**" + v.Words + "**",
            _ => throw new ArgumentException($"Unknown inline {inline.GetType().Name}.", nameof(inline)),
        };
    }

    /// <summary>Escapes every character Markdown could read as markup, so text stays text.</summary>
    private static string Escape(string s, bool lineStart)
    {
        var sb = new StringBuilder(s.Length + 8);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '~')
                sb.Append('\\');
            else if (c == '&' && i + 1 < s.Length && (char.IsAsciiLetter(s[i + 1]) || s[i + 1] == '#'))
                sb.Append('\\');
            sb.Append(c);
        }

        return lineStart ? EscapeLineStarts(sb.ToString()) : sb.ToString();
    }

    /// <summary>Escapes what would make a line a heading, list, quote or rule: leading '#', '-', '+', '=', '1.'.</summary>
    private static string EscapeLineStarts(string text)
    {
        var lines = text.Split('\n');
        for (var k = 0; k < lines.Length; k++)
        {
            var line = lines[k];
            var start = line.Length - line.TrimStart(' ').Length;
            if (start >= line.Length) continue;
            var c = line[start];
            if (c is '#' or '-' or '+' or '=')
            {
                lines[k] = line[..start] + "\\" + line[start..];
                continue;
            }

            var digits = start;
            while (digits < line.Length && char.IsAsciiDigit(line[digits])) digits++;
            if (digits > start && digits < line.Length && line[digits] is '.' or ')')
                lines[k] = line[..digits] + "\\" + line[digits..];
        }

        return string.Join('\n', lines);
    }

    private static string CodeSpan(string code, bool inTable)
    {
        if (inTable) code = code.Replace("|", "\\|", StringComparison.Ordinal);
        var fence = new string('`', LongestRun(code, '`') + 1);
        var pad = code.StartsWith('`') || code.EndsWith('`') ? " " : "";
        return fence + pad + code + pad + fence;
    }

    private static string Href(string href) =>
        href.Replace(" ", "%20", StringComparison.Ordinal).Replace("(", "%28", StringComparison.Ordinal).Replace(")", "%29", StringComparison.Ordinal);

    private static int LongestRun(string s, char c)
    {
        int best = 0, run = 0;
        foreach (var ch in s)
        {
            run = ch == c ? run + 1 : 0;
            best = Math.Max(best, run);
        }

        return best;
    }
}
