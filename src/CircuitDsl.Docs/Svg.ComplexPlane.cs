using System.Numerics;

namespace CircuitDsl.Docs;

public static partial class Svg
{
    private const string Positive = "#b2182b";
    private const string Negative = "#2166ac";

    /// <summary>
    /// Points of the complex plane, e.g. the eigenvalues of an OV circuit: axes through the origin, the unit circle
    /// dashed, ticks on both axes. Points with a positive real part are red and the rest blue (as in the diverging
    /// heatmaps); non-finite points are left out and counted in the description.
    /// </summary>
    /// <param name="title">E.g. "OV eigenvalues of head 1.1 (copying 0.93)".</param>
    /// <param name="points">The points to plot.</param>
    /// <param name="extent">Half the side of the square shown; default: just beyond the largest |z| and at least 1.1.</param>
    public static string ComplexPlane(string title, IReadOnlyList<Complex> points, double? extent = null)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(points);
        var finite = points.Where(z => double.IsFinite(z.Real) && double.IsFinite(z.Imaginary)).ToList();
        var reach = extent ?? Math.Max(1.1, finite.Select(z => z.Magnitude * 1.08).DefaultIfEmpty(0).Max());
        var (_, _, step, ticks) = Ticks.Nice(-reach, reach, 6);
        var (lo, hi) = (-reach, reach);

        const double side = 300;
        var x0 = Pad + 22 + 30;
        var y0 = TitleBlock + 4;
        double X(double re) => x0 + (re - lo) / (hi - lo) * side;
        double Y(double im) => y0 + (hi - im) / (hi - lo) * side;
        var totalWidth = Math.Max(x0 + side + Pad + 10, Pad + Fmt.TextWidth(title, 13) + Pad);
        var totalHeight = y0 + side + 44 + Pad;

        var omitted = points.Count - finite.Count;
        var description = $"Complex plane, {finite.Count} points" + (omitted > 0 ? $" ({omitted} not finite, omitted)" : "") +
            $"; {finite.Count(z => z.Real > 0)} with positive real part; axes from {Fmt.Value(lo)} to {Fmt.Value(hi)}; dashed unit circle.";
        var w = new SvgWriter(totalWidth, totalHeight, title, description);
        w.Title(Pad, TitleBaseline, title);

        w.Open("g", ("class", "grid"));
        foreach (var t in ticks)
        {
            if (t == 0 || t < lo || t > hi) continue;
            w.Line(X(t), y0, X(t), y0 + side, SvgWriter.Grid);
            w.Line(x0, Y(t), x0 + side, Y(t), SvgWriter.Grid);
        }

        w.Close("g");
        w.Open("g", ("class", "axes"));
        w.Line(x0, Y(0), x0 + side, Y(0), SvgWriter.Axis);
        w.Line(X(0), y0, X(0), y0 + side, SvgWriter.Axis);
        var unit = side / (hi - lo);
        if (unit >= 2)
            w.Empty("circle", ("class", "unit-circle"), ("cx", Fmt.N(X(0))), ("cy", Fmt.N(Y(0))), ("r", Fmt.N(unit)), ("fill", "none"), ("stroke", "#8c8c8c"), ("stroke-dasharray", "3 3"));
        w.Close("g");

        w.Open("g", ("class", "ticks"), ("font-size", "10"), ("fill", SvgWriter.Muted));
        foreach (var t in ticks)
        {
            if (t < lo - 1e-9 || t > hi + 1e-9) continue;
            w.Line(X(t), Y(0) - 2.5, X(t), Y(0) + 2.5, SvgWriter.Axis);
            w.Line(X(0) - 2.5, Y(t), X(0) + 2.5, Y(t), SvgWriter.Axis);
            w.Label(X(t), y0 + side + 14, Fmt.Tick(t, step), "middle");
            var im = Fmt.Tick(t, step);
            w.Label(x0 - 6, Y(t) + 3.5, t == 0 ? im : im is "1" or "−1" ? im[..^1] + "i" : im + "i", "end");
        }

        w.Label(x0 + side / 2, y0 + side + 32, "real part", "middle", "axis-label");
        var ly = y0 + side / 2;
        w.Label(Pad + 10, ly, "imaginary part", "middle", "axis-label", ("transform", $"rotate(-90 {Fmt.N(Pad + 10)} {Fmt.N(ly)})"));
        if (unit >= 2 && unit * 0.71 < side / 2 - 10)
            w.Label(X(0) + unit * 0.71 + 3, Y(0) - unit * 0.71 - 3, "|λ| = 1", "start", "unit-label");
        w.Close("g");

        w.Open("g", ("class", "points"), ("fill-opacity", "0.75"), ("stroke", "#ffffff"), ("stroke-width", "0.75"));
        foreach (var z in finite.OrderBy(z => z.Magnitude))
        {
            w.Open("circle", ("class", "point"), ("cx", Fmt.N(X(z.Real))), ("cy", Fmt.N(Y(z.Imaginary))), ("r", "4"), ("fill", z.Real > 0 ? Positive : Negative));
            w.Text("title", z.Imaginary == 0 ? Fmt.Value(z.Real) : $"{Fmt.Value(z.Real)} {(z.Imaginary < 0 ? "−" : "+")} {Fmt.Value(Math.Abs(z.Imaginary))}i");
            w.Close("circle");
        }

        w.Close("g");
        return w.Finish();
    }
}
