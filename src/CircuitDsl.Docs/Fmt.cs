using System.Globalization;
using System.Text;

namespace CircuitDsl.Docs;

/// <summary>
/// Number and text formatting shared by the charts and pages, fixed so that output is byte-for-byte stable:
/// invariant culture, geometry rounded to 3 decimals, values to 3 significant digits.
/// </summary>
internal static class Fmt
{
    /// <summary>A coordinate or length: at most 3 decimals, no exponent, no negative zero.</summary>
    public static string N(double v)
    {
        var r = Math.Round(v, 3, MidpointRounding.AwayFromZero);
        if (r == 0) r = 0;
        return r.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A value for a reader: 3 significant digits (<c>0.934</c>, <c>12.3</c>, <c>1230</c>), scientific outside
    /// 10⁻³…10⁵ (<c>1.23e−4</c>), a typographic minus sign, and <c>n/a</c> for NaN.
    /// </summary>
    public static string Value(double v, int significant = 3)
    {
        if (double.IsNaN(v)) return "n/a";
        if (double.IsInfinity(v)) return v > 0 ? "∞" : "−∞";
        if (v == 0) return "0";
        var abs = Math.Abs(v);
        string s;
        if (abs >= 1e5 || abs < 1e-3)
        {
            var e = (int)Math.Floor(Math.Log10(abs));
            var m = Math.Round(v / Math.Pow(10, e), significant - 1, MidpointRounding.AwayFromZero);
            if (Math.Abs(m) >= 10) { m /= 10; e++; }
            s = m.ToString("0." + new string('#', significant - 1), CultureInfo.InvariantCulture) + "e" + e.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            var magnitude = (int)Math.Floor(Math.Log10(abs));
            var decimals = Math.Max(0, significant - 1 - magnitude);
            var rounded = Math.Round(v, decimals, MidpointRounding.AwayFromZero);
            if (decimals > 0 && Math.Abs(rounded) >= Math.Pow(10, magnitude + 1)) decimals--;
            s = rounded.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        return s.Replace('-', '−');
    }

    /// <summary><see cref="Value"/> without trailing zeros after the point: <c>4</c>, <c>0.5</c>, <c>−1.25</c>.</summary>
    public static string Trimmed(double v)
    {
        var s = Value(v);
        return s.Contains('.', StringComparison.Ordinal) && !s.Contains('e', StringComparison.Ordinal) ? s.TrimEnd('0').TrimEnd('.') : s;
    }

    /// <summary>A tick label for a tick <paramref name="step"/> apart: as many decimals as the step needs.</summary>
    public static string Tick(double v, double step)
    {
        var decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 10);
        var r = Math.Round(v, decimals, MidpointRounding.AwayFromZero);
        if (r == 0) r = 0;
        return r.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).Replace('-', '−');
    }

    /// <summary>
    /// A one-line label made visible: control characters become escapes (<c>\n</c>, <c>\t</c>, <c>\x1B</c>) so a token
    /// such as a newline shows as what it is, and unpaired surrogates become U+FFFD.
    /// </summary>
    public static string Label(string s) => Visible(s, keepLineBreaks: false);

    /// <summary>
    /// Text escaped for XML and HTML content and attribute values; characters XML cannot hold are made visible as in
    /// <see cref="Label"/> (tabs and line breaks are kept when <paramref name="keepLineBreaks"/>).
    /// </summary>
    public static string Xml(string s, bool keepLineBreaks = false)
    {
        var visible = Visible(s, keepLineBreaks);
        var sb = new StringBuilder(visible.Length + 8);
        foreach (var c in visible)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }

    private static string Visible(string s, bool keepLineBreaks)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            string? replacement = null;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb?.Append(c).Append(s[i + 1]);
                i++;
                continue;
            }

            if (char.IsSurrogate(c) || c == '\uFFFE' || c == '\uFFFF') replacement = "\uFFFD";
            else if (keepLineBreaks && (c == '\n' || c == '\t')) replacement = null;
            else if (keepLineBreaks && c == '\r') replacement = "";
            else if (c == '\n') replacement = "\\n";
            else if (c == '\r') replacement = "\\r";
            else if (c == '\t') replacement = "\\t";
            else if (c < ' ' || c == '\u007F') replacement = "\\x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture);

            if (replacement is not null && sb is null)
            {
                sb = new StringBuilder(s.Length + 8);
                sb.Append(s, 0, i);
            }

            if (replacement is not null) sb!.Append(replacement);
            else sb?.Append(c);
        }

        return sb?.ToString() ?? s;
    }

    /// <summary>A rough width in pixels of <paramref name="text"/> set at <paramref name="fontSize"/> in a sans-serif face.</summary>
    public static double TextWidth(string text, double fontSize) => Label(text).Length * fontSize * 0.6;
}
