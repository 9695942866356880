using System.Text;

namespace CircuitDsl.Docs;

public static partial class Svg
{
    private static readonly string[] SeriesColors = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];
    private static readonly string?[] SeriesDashes = [null, "6 3", "2 2", "8 3 2 3"];

    /// <summary>
    /// Lines through (x, y) points, e.g. loss curves, with ticked axes, light grid lines and, for several series, a
    /// legend. Series differ in colour (Okabe–Ito) and in dash pattern. A NaN (or, on a log scale, a value ≤ 0) breaks
    /// its line.
    /// </summary>
    /// <param name="title">The chart's title.</param>
    /// <param name="series">The lines.</param>
    /// <param name="xLabel">The name of the x axis (e.g. "step").</param>
    /// <param name="yLabel">The name of the y axis (e.g. "loss (nats)").</param>
    /// <param name="logY">Whether the y axis is logarithmic (ticks at powers of ten).</param>
    /// <exception cref="ArgumentException">A series has different numbers of x and y values.</exception>
    public static string LineChart(string title, IReadOnlyList<Series> series, string? xLabel = null, string? yLabel = null, bool logY = false)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(series);
        foreach (var s in series)
            if (s.X.Count != s.Y.Count) throw new ArgumentException($"Series '{s.Name}' has {s.X.Count} x values but {s.Y.Count} y values.", nameof(series));

        bool Usable(double x, double y) => double.IsFinite(x) && double.IsFinite(y) && (!logY || y > 0);
        var points = series.SelectMany(s => s.X.Zip(s.Y)).Where(p => Usable(p.First, p.Second)).ToList();
        var (xlo, xhi, xstep, xticks) = Ticks.Nice(points.Select(p => p.First).DefaultIfEmpty(0).Min(), points.Select(p => p.First).DefaultIfEmpty(1).Max(), 6);
        double ylo, yhi, ystep;
        IReadOnlyList<double> yticks;
        Func<double, double> transform = v => v;
        if (logY)
        {
            transform = Math.Log10;
            var lows = points.Select(p => Math.Log10(p.Second)).DefaultIfEmpty(0).ToList();
            (ylo, yhi) = (Math.Floor(lows.Min()), Math.Ceiling(lows.Max()));
            if (yhi == ylo) yhi++;
            ystep = 1;
            yticks = [.. Enumerable.Range(0, (int)(yhi - ylo) + 1).Select(k => ylo + k)];
        }
        else
        {
            (ylo, yhi, ystep, yticks) = Ticks.Nice(points.Select(p => p.Second).DefaultIfEmpty(0).Min(), points.Select(p => p.Second).DefaultIfEmpty(1).Max(), 5);
        }

        const double plotWidth = 480, plotHeight = 240;
        var x0 = Pad + (yLabel is null ? 0 : 20) + 40;
        var y0 = TitleBlock + 6;
        double X(double v) => x0 + (v - xlo) / (xhi - xlo) * plotWidth;
        double Y(double v) => y0 + (yhi - transform(v)) / (yhi - ylo) * plotHeight;
        var totalWidth = Math.Max(x0 + plotWidth + Pad + 8, Pad + Fmt.TextWidth(title, 13) + Pad);
        var totalHeight = y0 + plotHeight + 22 + (xLabel is null ? 0 : 18) + Pad;

        var description = $"Line chart, {series.Count} series" +
            string.Concat(series.Select(s => $"; {Fmt.Label(s.Name)}: {s.X.Count} points, y {Describe(s.Y)}")) + (logY ? "; logarithmic y axis" : "") + ".";
        var w = new SvgWriter(totalWidth, totalHeight, title, description);
        w.Title(Pad, TitleBaseline, title);

        w.Open("g", ("class", "axes"), ("font-size", "10"), ("fill", SvgWriter.Muted));
        foreach (var t in yticks)
        {
            var y = y0 + (yhi - t) / (yhi - ylo) * plotHeight;
            w.Line(x0, y, x0 + plotWidth, y, SvgWriter.Grid);
            w.Label(x0 - 6, y + 3.5, logY ? Fmt.Value(Math.Pow(10, t)) : Fmt.Tick(t, ystep), "end");
        }

        foreach (var t in xticks)
        {
            w.Line(X(t), y0 + plotHeight, X(t), y0 + plotHeight + 4, SvgWriter.Axis);
            w.Label(X(t), y0 + plotHeight + 16, Fmt.Tick(t, xstep), "middle");
        }

        w.Line(x0, y0 + plotHeight, x0 + plotWidth, y0 + plotHeight, SvgWriter.Axis);
        w.Line(x0, y0, x0, y0 + plotHeight, SvgWriter.Axis);
        if (xLabel is not null) w.Label(x0 + plotWidth / 2, y0 + plotHeight + 34, xLabel, "middle", "axis-label", ("font-size", "11"));
        if (yLabel is not null)
        {
            var ly = y0 + plotHeight / 2;
            w.Label(Pad + 10, ly, yLabel, "middle", "axis-label", ("font-size", "11"), ("transform", $"rotate(-90 {Fmt.N(Pad + 10)} {Fmt.N(ly)})"));
        }

        w.Close("g");

        for (var k = 0; k < series.Count; k++)
        {
            var s = series[k];
            var d = new StringBuilder();
            var pen = false;
            for (var i = 0; i < s.X.Count; i++)
            {
                if (!Usable(s.X[i], s.Y[i]))
                {
                    pen = false;
                    continue;
                }

                d.Append(d.Length == 0 ? "" : " ").Append(pen ? 'L' : 'M').Append(Fmt.N(X(s.X[i]))).Append(',').Append(Fmt.N(Y(s.Y[i])));
                pen = true;
            }

            var attributes = new List<(string, string)>
            {
                ("class", "series"), ("d", d.ToString()), ("fill", "none"), ("stroke", SeriesColors[k % SeriesColors.Length]),
                ("stroke-width", "1.75"), ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
            };
            if (SeriesDashes[k % SeriesDashes.Length] is { } dash) attributes.Add(("stroke-dasharray", dash));
            w.Open("path", [.. attributes]);
            w.Text("title", s.Name);
            w.Close("path");
        }

        if (series.Count > 1)
        {
            var lx = x0 + plotWidth - 12 - series.Max(s => Fmt.TextWidth(s.Name, 10)) - 26;
            w.Open("g", ("class", "legend"), ("font-size", "10"));
            w.Empty("rect", ("x", Fmt.N(lx - 8)), ("y", Fmt.N(y0 + 4)), ("width", Fmt.N(x0 + plotWidth - 4 - lx + 8 - 4)), ("height", Fmt.N(series.Count * 16 + 8)), ("fill", "#ffffff"), ("fill-opacity", "0.85"));
            for (var k = 0; k < series.Count; k++)
            {
                var ly = y0 + 16 + k * 16;
                var dash = SeriesDashes[k % SeriesDashes.Length];
                w.Line(lx, ly - 3.5, lx + 20, ly - 3.5, SeriesColors[k % SeriesColors.Length], 1.75, dash is null ? [] : [("stroke-dasharray", dash)]);
                w.Label(lx + 26, ly, series[k].Name, "start");
            }

            w.Close("g");
        }

        return w.Finish();
    }
}
