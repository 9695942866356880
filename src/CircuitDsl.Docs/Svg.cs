using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace CircuitDsl.Docs;

/// <summary>
/// Charts as SVG text: pure functions of their data, deterministic to the byte (invariant culture, coordinates to 3
/// decimals, values to 3 significant digits), with a <c>viewBox</c> so they scale, a <c>&lt;title&gt;</c> and
/// <c>&lt;desc&gt;</c> for screen readers, and every label escaped. Ids are unique per chart, so any number of charts can
/// be inlined into one HTML page.
/// </summary>
public static partial class Svg
{
    private const double Pad = 16;
    private const double TitleBaseline = 22;
    private const double TitleBlock = 34;

    /// <summary>
    /// Sets charts side by side in one picture (small multiples, e.g. the Q, K and V composition heatmaps), their tops
    /// aligned, <paramref name="gap"/> pixels apart.
    /// </summary>
    /// <exception cref="ArgumentException">A chart is not an SVG this class made.</exception>
    public static string SideBySide(string title, IReadOnlyList<string> charts, double gap = 8)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(charts);
        if (charts.Count == 0) throw new ArgumentException("SideBySide needs at least one chart.", nameof(charts));
        var sizes = charts.Select(Size).ToList();
        var width = sizes.Sum(s => s.Width) + gap * (charts.Count - 1);
        var height = sizes.Max(s => s.Height);
        var w = new SvgWriter(width, height, title, $"{charts.Count} charts side by side: " +
            string.Join("; ", charts.Select(c => XElement.Parse(c).Elements().First().Value)));
        var body = new StringBuilder();
        var x = 0.0;
        for (var i = 0; i < charts.Count; i++)
        {
            var chart = charts[i].TrimEnd('\n');
            body.Append("  <svg x=\"").Append(Fmt.N(x)).Append("\" y=\"0\"").Append(chart.AsSpan("<svg".Length)).Append('\n');
            x += sizes[i].Width + gap;
        }

        var outer = w.Finish();
        var close = outer.LastIndexOf("</svg>", StringComparison.Ordinal);
        return outer[..close] + body + outer[close..];
    }

    private static (double Width, double Height) Size(string svg)
    {
        XElement root;
        try
        {
            root = XElement.Parse(svg);
        }
        catch (System.Xml.XmlException e)
        {
            throw new ArgumentException("A chart to set side by side is not well-formed SVG: " + e.Message, nameof(svg));
        }

        if (root.Name.LocalName != "svg" || !svg.StartsWith("<svg ", StringComparison.Ordinal) ||
            !double.TryParse((string?)root.Attribute("width"), NumberStyles.Float, CultureInfo.InvariantCulture, out var width) ||
            !double.TryParse((string?)root.Attribute("height"), NumberStyles.Float, CultureInfo.InvariantCulture, out var height))
            throw new ArgumentException("A chart to set side by side must be an <svg> with numeric width and height.", nameof(svg));
        return (width, height);
    }

    private static string Pct(double fraction) => Fmt.N(fraction * 100) + "%";

    private static string Describe(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? "no finite values" : $"values from {Fmt.Trimmed(finite.Min())} to {Fmt.Trimmed(finite.Max())}";
    }
}
