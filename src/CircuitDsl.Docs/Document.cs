using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace CircuitDsl.Docs;

/// <summary>
/// A page as data: a title and blocks. <see cref="MarkdownPage"/> and <see cref="HtmlPage"/> both render from it, so
/// the Markdown pages and the HTML page say the same thing.
/// </summary>
/// <param name="Title">The page's title (its only level-1 heading).</param>
/// <param name="Blocks">The content, in order.</param>
public sealed record Document(string Title, IReadOnlyList<Block> Blocks);

/// <summary>One block of a <see cref="Document"/>: a heading, paragraph, table, figure or code block.</summary>
public abstract record Block;

/// <summary>A section heading; level 2 is a section of the page, 3 a subsection, down to 6.</summary>
public sealed record Heading : Block
{
    /// <summary>A heading of <paramref name="level"/> 2–6.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The level is not 2–6 (level 1 is the document's title).</exception>
    public Heading(int level, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (level is < 2 or > 6)
            throw new ArgumentOutOfRangeException(nameof(level), level, $"Heading '{text}' has level {level}; use 2–6 (the document's title is level 1).");
        Level = level;
        Text = text;
    }

    /// <summary>2–6.</summary>
    public int Level { get; }

    /// <summary>The heading's text.</summary>
    public string Text { get; }
}

/// <summary>A paragraph of inline runs.</summary>
/// <param name="Content">The runs, in order.</param>
public sealed record Paragraph(IReadOnlyList<Inline> Content) : Block
{
    /// <summary>A paragraph of the given runs; a string is plain text.</summary>
    public Paragraph(params Inline[] content) : this((IReadOnlyList<Inline>)content)
    {
    }
}

/// <summary>How a table column's cells are aligned; numbers read best right-aligned.</summary>
public enum Align
{
    /// <summary>Left-aligned (text).</summary>
    Left,

    /// <summary>Right-aligned (numbers).</summary>
    Right,

    /// <summary>Centred (marks).</summary>
    Center,
}

/// <summary>A table with a header row; every row has one cell per header.</summary>
public sealed record Table : Block
{
    /// <summary>A table; <paramref name="alignments"/> defaults to left for every column.</summary>
    /// <exception cref="ArgumentException">A row or the alignments have a different number of cells than the header.</exception>
    public Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<Inline>> rows, IReadOnlyList<Align>? alignments = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        if (header.Count == 0) throw new ArgumentException("A table needs at least one column.", nameof(header));
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Count != header.Count)
                throw new ArgumentException($"Table row {i + 1} has {rows[i].Count} cells but the header ({string.Join(", ", header)}) has {header.Count}.", nameof(rows));
        }

        if (alignments is not null && alignments.Count != header.Count)
            throw new ArgumentException($"The table has {header.Count} columns but {alignments.Count} alignments.", nameof(alignments));
        Header = header;
        Rows = rows;
        Alignments = alignments ?? [.. header.Select(_ => Align.Left)];
    }

    /// <summary>The column names.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>The rows, each with one cell per column.</summary>
    public IReadOnlyList<IReadOnlyList<Inline>> Rows { get; }

    /// <summary>One alignment per column.</summary>
    public IReadOnlyList<Align> Alignments { get; }
}

/// <summary>A picture with a caption. Markdown links it as <see cref="FileName"/>; HTML inlines <see cref="Svg"/>.</summary>
public sealed record Figure : Block
{
    /// <summary>A figure of an SVG (e.g. from <see cref="Docs.Svg"/>), its caption and the file it is saved as beside a Markdown page.</summary>
    /// <exception cref="ArgumentException">The SVG is not well-formed with an <c>svg</c> root, or the file name is not a plain <c>name.svg</c>.</exception>
    public Figure(string svg, string caption, string fileName)
    {
        ArgumentNullException.ThrowIfNull(svg);
        ArgumentNullException.ThrowIfNull(caption);
        ArgumentNullException.ThrowIfNull(fileName);
        if (fileName.Length < 5 || !fileName.EndsWith(".svg", StringComparison.Ordinal) ||
            !fileName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || fileName.StartsWith('.'))
            throw new ArgumentException($"Figure file name '{fileName}' must be a plain name of letters, digits, '-', '_' or '.' ending in .svg.", nameof(fileName));
        try
        {
            if (XElement.Parse(svg).Name.LocalName != "svg") throw new ArgumentException($"Figure '{fileName}' is not an <svg> element.", nameof(svg));
        }
        catch (XmlException e)
        {
            throw new ArgumentException($"Figure '{fileName}' is not well-formed SVG: {e.Message}", nameof(svg), e);
        }

        Svg = svg;
        Caption = caption;
        FileName = fileName;
    }

    /// <summary>The picture.</summary>
    public string Svg { get; }

    /// <summary>What the picture shows; also its alt text.</summary>
    public string Caption { get; }

    /// <summary>The file name the picture is saved under, next to the Markdown page's image folder.</summary>
    public string FileName { get; }
}

/// <summary>Preformatted text, such as a circuit spec's source.</summary>
/// <param name="Text">The code, shown verbatim.</param>
/// <param name="Language">The language for Markdown's fence (e.g. "csharp"), if any.</param>
public sealed record CodeBlock(string Text, string? Language = null) : Block;

/// <summary>A run of text inside a paragraph or table cell. A string converts to <see cref="Text"/>.</summary>
public abstract record Inline
{
    /// <summary>Plain text.</summary>
    public static implicit operator Inline(string text) => new Text(text);

    /// <summary>Plain text; nothing in it is markup.</summary>
    /// <param name="Value">The text.</param>
    public sealed record Text(string Value) : Inline;

    /// <summary>Code or a name from code, in a monospace face (e.g. <c>W_OV</c>).</summary>
    /// <param name="Value">The code.</param>
    public sealed record Code(string Value) : Inline;

    /// <summary>Bold text.</summary>
    /// <param name="Value">The text.</param>
    public sealed record Strong(string Value) : Inline;

    /// <summary>Italic text.</summary>
    /// <param name="Value">The text.</param>
    public sealed record Emphasis(string Value) : Inline;

    /// <summary>A link, e.g. from the index to a circuit's page.</summary>
    /// <param name="Value">The link's text.</param>
    /// <param name="Href">Where it goes (a relative path or <c>#anchor</c>).</param>
    public sealed record Link(string Value, string Href) : Inline;

    /// <summary>A hypothesis's verdict as a mark: "✓ holds", "✗ fails", "– not measured".</summary>
    /// <param name="Outcome">The verdict.</param>
    public sealed record Verdict(Reports.Verdict Outcome) : Inline
    {
        /// <summary>The mark's words, the same in every output (<see cref="Reports.ReportText.Mark"/>).</summary>
        public string Words => Reports.ReportText.Mark(Outcome);
    }
}

/// <summary>Builds a <see cref="Document"/> block by block.</summary>
/// <param name="title">The document's title.</param>
public sealed class DocumentBuilder(string title)
{
    private readonly List<Block> _blocks = [];

    /// <summary>Adds a heading of level 2–6.</summary>
    public DocumentBuilder Heading(int level, string text) => Add(new Heading(level, text));

    /// <summary>Adds a paragraph; strings are plain text.</summary>
    public DocumentBuilder Paragraph(params Inline[] content) => Add(new Paragraph(content));

    /// <summary>Adds a table.</summary>
    public DocumentBuilder Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<Inline>> rows, IReadOnlyList<Align>? alignments = null) =>
        Add(new Table(header, rows, alignments));

    /// <summary>Adds a figure.</summary>
    public DocumentBuilder Figure(string svg, string caption, string fileName) => Add(new Figure(svg, caption, fileName));

    /// <summary>Adds a code block.</summary>
    public DocumentBuilder Code(string text, string? language = null) => Add(new CodeBlock(text, language));

    /// <summary>Adds any block.</summary>
    public DocumentBuilder Add(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        _blocks.Add(block);
        return this;
    }

    /// <summary>The document built so far.</summary>
    public Document Build() => new(title, [.. _blocks]);
}

/// <summary>Heading anchors: lower-case words joined by '-', made unique within one page.</summary>
internal sealed class Slugger
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>The anchor for <paramref name="text"/>, with <c>-2</c>, <c>-3</c>… on repeats.</summary>
    public string Slug(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c)) sb.Append(c);
            else if ((c is ' ' or '-' or '_' or '.') && sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }

        var slug = sb.ToString().Trim('-');
        if (slug.Length == 0) slug = "section";
        var candidate = slug;
        for (var n = 2; !_used.Add(candidate); n++) candidate = $"{slug}-{n}";
        return candidate;
    }
}
