namespace CircuitDsl.Docs;

public static partial class Svg
{
    private const string HoldsColor = "#009e73";
    private const string FailsColor = "#d55e00";
    private const string PositiveBar = "#d6604d";
    private const string NegativeBar = "#4393c3";

    /// <summary>
    /// Horizontal bars of signed values with their labels, e.g. path-expansion term sizes, or "measured vs threshold"
    /// per hypothesis: a black tick marks each bar's threshold, and the bar's <see cref="Bar.Outcome"/> is shown three ways
    /// at once — colour (green / vermilion), fill (solid / hatched / none) and a text mark (✓ holds, ✗ fails,
    /// – not measured) — so it reads in greyscale and without colour vision.
    /// </summary>
    /// <param name="title">The chart's title.</param>
    /// <param name="bars">The bars, drawn top to bottom.</param>
    /// <param name="valueAxisLabel">The name of the value axis, written under it.</param>
    public static string BarChart(string title, IReadOnlyList<Bar> bars, string? valueAxisLabel = null)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(bars);
        var extent = bars.SelectMany(b => new[] { b.Value, b.Threshold ?? 0 }).Where(double.IsFinite).Append(0).ToList();
        var (lo, hi, step, ticks) = Ticks.Nice(extent.Min(), extent.Max(), 5);

        const double barHeight = 16, rowHeight = 26, plotWidth = 360;
        var labelWidth = bars.Select(b => Fmt.TextWidth(b.Label, 11)).DefaultIfEmpty(0).Max() + 10;
        var x0 = Pad + labelWidth;
        var hasLegend = bars.Any(b => b.Outcome is not null || b.Threshold is not null);
        var y0 = TitleBlock + (hasLegend ? 22 : 4);
        var plotHeight = Math.Max(1, bars.Count) * rowHeight;
        double X(double v) => x0 + (v - lo) / (hi - lo) * plotWidth;
        var texts = bars.Select(b => BarText(b, step)).ToList();
        var valueColumn = x0 + plotWidth + 10;
        var totalWidth = Math.Max(valueColumn + texts.Select(t => Fmt.TextWidth(t, 11)).DefaultIfEmpty(0).Max() + Pad, Pad + Fmt.TextWidth(title, 13) + Pad);
        totalWidth = Math.Max(totalWidth, Pad + 380);
        var totalHeight = y0 + plotHeight + 24 + (valueAxisLabel is null ? 0 : 16) + Pad;

        var description = $"Bar chart, {bars.Count} bars" +
            string.Concat(bars.Select((b, i) => $"; {Fmt.Label(b.Label)}: {texts[i]}" + (b.Threshold is { } t ? $" (threshold {Fmt.Value(t)})" : ""))) + ".";
        var w = new SvgWriter(totalWidth, totalHeight, title, description);
        w.Open("defs");
        w.HatchPattern("fails", FailsColor, "#f7c9a8");
        w.Close("defs");
        w.Title(Pad, TitleBaseline, title);
        if (hasLegend) Legend(w, bars, Pad, TitleBlock + 6);

        w.Open("g", ("class", "grid"), ("font-size", "10"), ("fill", SvgWriter.Muted));
        foreach (var t in ticks)
        {
            w.Line(X(t), y0 - 4, X(t), y0 + plotHeight, SvgWriter.Grid);
            w.Label(X(t), y0 + plotHeight + 14, Fmt.Tick(t, step), "middle");
        }

        if (valueAxisLabel is not null) w.Label(x0 + plotWidth / 2, y0 + plotHeight + 30, valueAxisLabel, "middle", "axis-label", ("font-size", "11"));
        w.Close("g");

        for (var i = 0; i < bars.Count; i++)
        {
            var b = bars[i];
            var top = y0 + i * rowHeight + (rowHeight - barHeight) / 2;
            var kind = b.Outcome switch { Reports.Verdict.Holds => "bar holds", Reports.Verdict.Fails => "bar fails", Reports.Verdict.NotMeasured => "bar not-measured", _ => "bar" };
            w.Open("g", ("class", kind));
            w.Text("title", $"{Fmt.Label(b.Label)}: {texts[i]}" + (b.Threshold is { } th ? $" (threshold {Fmt.Value(th)})" : ""));
            w.Label(x0 - 8, top + barHeight / 2 + 4, b.Label, "end", extra: [("font-size", "11"), ("fill", b.Outcome == Reports.Verdict.NotMeasured ? SvgWriter.Muted : SvgWriter.Ink)]);
            var measured = b.Outcome != Reports.Verdict.NotMeasured && double.IsFinite(b.Value);
            if (measured)
            {
                var (a, z) = (X(Math.Min(0, b.Value)), X(Math.Max(0, b.Value)));
                var fill = b.Outcome switch
                {
                    Reports.Verdict.Holds => HoldsColor,
                    Reports.Verdict.Fails => SvgWriter.Url("fails"),
                    _ => b.Value >= 0 ? PositiveBar : NegativeBar,
                };
                w.Empty("rect", ("x", Fmt.N(a)), ("y", Fmt.N(top)), ("width", Fmt.N(Math.Max(z - a, 0.5))), ("height", Fmt.N(barHeight)), ("fill", fill),
                    ("stroke", b.Outcome == Reports.Verdict.Fails ? FailsColor : "none"));
            }

            if (b.Threshold is { } threshold && double.IsFinite(threshold))
                w.Line(X(threshold), top - 4, X(threshold), top + barHeight + 4, "#111111", 2, ("class", "threshold"));
            w.Label(valueColumn, top + barHeight / 2 + 4, texts[i], "start", "value",
                ("font-size", "11"), ("style", "font-variant-numeric: tabular-nums"), ("fill", b.Outcome == Reports.Verdict.NotMeasured ? SvgWriter.Muted : SvgWriter.Ink));
            w.Close("g");
        }

        w.Line(X(0), y0 - 4, X(0), y0 + plotHeight, "#555555", 1, ("class", "zero"));
        return w.Finish();
    }

    /// <summary>A bar's value with two more decimals than the axis ticks (so a column of values lines up), and its mark.</summary>
    private static string BarText(Bar b, double tickStep)
    {
        var value = b.Outcome == Reports.Verdict.NotMeasured || !double.IsFinite(b.Value) ? "–" : Fmt.Tick(b.Value, tickStep / 100);
        return b.Outcome switch
        {
            Reports.Verdict.NotMeasured => Reports.ReportText.Symbol(Reports.Verdict.NotMeasured) + "\u2002" + Reports.ReportText.Word(Reports.Verdict.NotMeasured),
            { } outcome => value + "\u2002" + Reports.ReportText.Mark(outcome),
            null => value,
        };
    }

    private static void Legend(SvgWriter w, IReadOnlyList<Bar> bars, double x, double y)
    {
        w.Open("g", ("class", "legend"), ("font-size", "10"), ("fill", SvgWriter.Muted));
        void Entry(string text, Action<double> swatch)
        {
            swatch(x);
            w.Label(x + 16, y + 9, text, "start");
            x += 16 + Fmt.TextWidth(text, 10) + 14;
        }

        if (bars.Any(b => b.Outcome == Reports.Verdict.Holds))
            Entry(Reports.ReportText.Word(Reports.Verdict.Holds), sx => w.Empty("rect", ("x", Fmt.N(sx)), ("y", Fmt.N(y)), ("width", "11"), ("height", "11"), ("fill", HoldsColor)));
        if (bars.Any(b => b.Outcome == Reports.Verdict.Fails))
            Entry(Reports.ReportText.Word(Reports.Verdict.Fails), sx => w.Empty("rect", ("x", Fmt.N(sx)), ("y", Fmt.N(y)), ("width", "11"), ("height", "11"), ("fill", SvgWriter.Url("fails")), ("stroke", FailsColor)));
        if (bars.Any(b => b.Outcome == Reports.Verdict.NotMeasured))
            Entry(Reports.ReportText.Word(Reports.Verdict.NotMeasured), sx => w.Empty("rect", ("x", Fmt.N(sx + 0.5)), ("y", Fmt.N(y + 0.5)), ("width", "10"), ("height", "10"), ("fill", "none"), ("stroke", SvgWriter.Axis), ("stroke-dasharray", "2 2")));
        if (bars.Any(b => b.Threshold is not null))
            Entry("threshold", sx => w.Line(sx + 5.5, y - 2, sx + 5.5, y + 13, "#111111", 2));
        w.Close("g");
    }
}
