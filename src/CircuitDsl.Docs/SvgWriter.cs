using System.Text;

namespace CircuitDsl.Docs;

/// <summary>
/// Writes SVG one element per line, attributes in the order given, all text escaped. Element ids are written with a
/// placeholder and replaced at the end by a hash of the whole picture, so that several charts inlined into one HTML page
/// never share an id while each chart's text stays deterministic.
/// </summary>
internal sealed class SvgWriter
{
    private const string IdPlaceholder = "\u0001id\u0001";
    private readonly StringBuilder _sb = new();
    private int _depth;

    /// <summary>The font stack of every chart.</summary>
    public const string FontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif";

    /// <summary>Ink for text.</summary>
    public const string Ink = "#222222";

    /// <summary>Ink for secondary text: tick labels, notes.</summary>
    public const string Muted = "#666666";

    /// <summary>Axis lines.</summary>
    public const string Axis = "#9a9a9a";

    /// <summary>Grid lines.</summary>
    public const string Grid = "#ececec";

    /// <summary>An id unique to this chart: <c>{hash}-{local}</c>.</summary>
    public static string Id(string local) => IdPlaceholder + "-" + local;

    /// <summary>Opens the root element with a viewBox, the accessible title and a description.</summary>
    public SvgWriter(double width, double height, string title, string description)
    {
        _sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").Append(Fmt.N(width)).Append(' ').Append(Fmt.N(height))
            .Append("\" width=\"").Append(Fmt.N(width)).Append("\" height=\"").Append(Fmt.N(height))
            .Append("\" role=\"img\" aria-labelledby=\"").Append(Id("title")).Append(' ').Append(Id("desc"))
            .Append("\" font-family=\"").Append(Fmt.Xml(FontFamily)).Append("\" font-size=\"11\" fill=\"").Append(Ink).Append("\">\n");
        _depth = 1;
        Text("title", title, ("id", Id("title")));
        Text("desc", description, ("id", Id("desc")));
    }

    /// <summary>An element with children; close it with <see cref="Close"/>.</summary>
    public void Open(string name, params (string Name, string Value)[] attributes)
    {
        Start(name, attributes);
        _sb.Append(">\n");
        _depth++;
    }

    /// <summary>Closes the innermost open element.</summary>
    public void Close(string name)
    {
        _depth--;
        Indent();
        _sb.Append("</").Append(name).Append(">\n");
    }

    /// <summary>An element without children.</summary>
    public void Empty(string name, params (string Name, string Value)[] attributes)
    {
        Start(name, attributes);
        _sb.Append("/>\n");
    }

    /// <summary>An element holding one line of text, shown as a label (control characters made visible).</summary>
    public void Text(string name, string text, params (string Name, string Value)[] attributes)
    {
        Start(name, attributes);
        _sb.Append('>').Append(Fmt.Xml(text)).Append("</").Append(name).Append(">\n");
    }

    /// <summary>A <c>text</c> element at (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public void Label(double x, double y, string text, string? anchor = null, string? cssClass = null, params (string Name, string Value)[] extra)
    {
        var attributes = new List<(string, string)> { ("x", Fmt.N(x)), ("y", Fmt.N(y)) };
        if (anchor is not null) attributes.Add(("text-anchor", anchor));
        if (cssClass is not null) attributes.Add(("class", cssClass));
        attributes.AddRange(extra);
        Text("text", text, [.. attributes]);
    }

    /// <summary>A straight line.</summary>
    public void Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, params (string Name, string Value)[] extra) =>
        Empty("line", [("x1", Fmt.N(x1)), ("y1", Fmt.N(y1)), ("x2", Fmt.N(x2)), ("y2", Fmt.N(y2)), ("stroke", stroke), ("stroke-width", Fmt.N(width)), .. extra]);

    /// <summary>The chart's title, top left.</summary>
    public void Title(double x, double y, string title) =>
        Label(x, y, title, cssClass: "chart-title", extra: [("font-size", "13"), ("font-weight", "600")]);

    /// <summary>The diagonal hatch used for "no data" cells and failed hypotheses: a <c>pattern</c> in <c>defs</c>.</summary>
    public void HatchPattern(string local, string background, string stroke)
    {
        Open("pattern", ("id", Id(local)), ("patternUnits", "userSpaceOnUse"), ("width", "6"), ("height", "6"), ("patternTransform", "rotate(45)"));
        Empty("rect", ("width", "6"), ("height", "6"), ("fill", background));
        Empty("line", ("x1", "0"), ("y1", "0"), ("x2", "0"), ("y2", "6"), ("stroke", stroke), ("stroke-width", "2.5"));
        Close("pattern");
    }

    /// <summary>Closes the root and returns the text, ids made unique by a hash of the content.</summary>
    public string Finish()
    {
        if (_depth != 1) throw new InvalidOperationException("An SVG element was left open.");
        _sb.Append("</svg>\n");
        var text = _sb.ToString();
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return text.Replace(IdPlaceholder, "c" + hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    /// <summary>A reference to an id of this chart, for <c>fill="url(#…)"</c>.</summary>
    public static string Url(string local) => "url(#" + Id(local) + ")";

    private void Start(string name, (string Name, string Value)[] attributes)
    {
        Indent();
        _sb.Append('<').Append(name);
        foreach (var (n, v) in attributes) _sb.Append(' ').Append(n).Append("=\"").Append(v.Contains(IdPlaceholder, StringComparison.Ordinal) ? v : Fmt.Xml(v)).Append('"');
    }

    private void Indent() => _sb.Append(' ', 2 * _depth);
}
