namespace CircuitDsl.Docs;

public static partial class Svg
{
    /// <summary>
    /// A heatmap of <paramref name="values"/> (rows × columns) with row and column labels and a colour bar showing the
    /// scale's range. NaN cells are drawn hatched grey and listed as "no data"; with
    /// <see cref="HeatmapOptions.MaskUpperTriangle"/> the cells above the diagonal are left empty.
    /// </summary>
    /// <exception cref="ArgumentException">The label counts do not match the matrix, or a mask is asked of a non-square one.</exception>
    public static string Heatmap(string title, double[,] values, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, HeatmapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(rowLabels);
        ArgumentNullException.ThrowIfNull(columnLabels);
        options ??= new HeatmapOptions();
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (rowLabels.Count != rows) throw new ArgumentException($"Heatmap '{title}' has {rows} rows but {rowLabels.Count} row labels.", nameof(rowLabels));
        if (columnLabels.Count != cols) throw new ArgumentException($"Heatmap '{title}' has {cols} columns but {columnLabels.Count} column labels.", nameof(columnLabels));
        if (options.MaskUpperTriangle && rows != cols) throw new ArgumentException($"Heatmap '{title}' masks its upper triangle but is {rows}×{cols}, not square.", nameof(options));

        var all = values.Cast<double>().ToList();
        var scale = options.Scale ?? AutoScale(all);
        var hasNaN = Enumerable.Range(0, rows).Any(i => Enumerable.Range(0, cols).Any(j => !Masked(options, i, j) && double.IsNaN(values[i, j])));
        var cell = options.CellSize ?? Math.Clamp(Math.Floor(360.0 / Math.Max(1, Math.Max(rows, cols))), 6, 40);
        var showValues = options.ShowValues ?? (cell >= 28 && rows * cols <= 100);
        var tooltips = rows * cols <= 400;

        const double labelFont = 11;
        var rowLabelWidth = rowLabels.Select(l => Fmt.TextWidth(l, labelFont)).DefaultIfEmpty(0).Max() + 8;
        var columnLabelWidth = columnLabels.Select(l => Fmt.TextWidth(l, labelFont)).DefaultIfEmpty(0).Max();
        var rotate = columnLabelWidth > cell - 4;
        var columnLabelHeight = rotate ? columnLabelWidth * 0.71 + 14 : 18;
        var rowAxis = options.RowAxisLabel is null ? 0 : 20;
        var columnAxis = options.ColumnAxisLabel is null ? 0 : 20;

        var x0 = Pad + rowAxis + rowLabelWidth;
        var y0 = TitleBlock + columnAxis + columnLabelHeight;
        double width = cols * cell, height = rows * cell;
        var barX = x0 + width + (rotate ? Math.Max(20, columnLabelWidth * 0.71 - 10) : 20);
        var barTop = y0;
        var barHeight = Math.Clamp(height, 120, 300);
        var barLabels = new[] { scale.Max, scale.IsDiverging ? 0 : (scale.Min + scale.Max) / 2, scale.Min }.Select(v => Fmt.Trimmed(v)).ToList();
        var barLabelWidth = barLabels.Append(hasNaN ? "no data" : "").Select(l => Fmt.TextWidth(l, 10)).Max();
        var valueLabelWidth = options.ValueLabel is null ? 0 : Fmt.TextWidth(options.ValueLabel, 10) - 12;
        var totalWidth = Math.Max(barX + 12 + 6 + Math.Max(barLabelWidth, valueLabelWidth) + Pad, Pad + Fmt.TextWidth(title, 13) + Pad);
        var totalHeight = Math.Max(y0 + height, barTop + barHeight + (hasNaN ? 26 : 0)) + Pad;

        var description = $"Heatmap, {rows} rows × {cols} columns, {Describe(all)}; colour scale {(scale.IsDiverging ? "diverging" : "sequential")} from {Fmt.Trimmed(scale.Min)} to {Fmt.Trimmed(scale.Max)}" +
            (hasNaN ? "; hatched cells have no data" : "") + (options.MaskUpperTriangle ? "; cells above the diagonal are masked" : "") + ".";
        var w = new SvgWriter(totalWidth, totalHeight, title, description);
        w.Open("defs");
        w.HatchPattern("nodata", "#f2f2f2", "#c4c4c4");
        w.Open("linearGradient", ("id", SvgWriter.Id("scale")), ("x1", "0"), ("y1", "0"), ("x2", "0"), ("y2", "1"));
        var anchors = scale.Anchors;
        for (var k = 0; k < anchors.Count; k++)
            w.Empty("stop", ("offset", Pct((double)k / (anchors.Count - 1))), ("stop-color", anchors[anchors.Count - 1 - k].Hex));
        w.Close("linearGradient");
        w.Close("defs");
        w.Title(Pad, TitleBaseline, title);

        if (options.ColumnAxisLabel is not null)
            w.Label(x0 + width / 2, TitleBlock + 12, options.ColumnAxisLabel, "middle", "axis-label", ("fill", SvgWriter.Muted));
        if (options.RowAxisLabel is not null)
            w.Label(Pad + 10, y0 + height / 2, options.RowAxisLabel, "middle", "axis-label", ("fill", SvgWriter.Muted), ("transform", $"rotate(-90 {Fmt.N(Pad + 10)} {Fmt.N(y0 + height / 2)})"));

        w.Open("g", ("class", "column-labels"), ("font-size", Fmt.N(labelFont)));
        // Labels closer than a line of text overlap: with many positions only every columnStep-th (rowStep-th) is
        // written (the cells' tooltips still name every one). Rotated labels stand cell · sin 45° apart.
        var columnStep = rotate ? LabelStep(cell * Math.Sqrt(0.5), labelFont) : 1;
        var rowStep = LabelStep(cell, labelFont);
        for (var j = 0; j < cols; j += columnStep)
        {
            var cx = x0 + (j + 0.5) * cell;
            if (rotate)
                w.Label(cx, y0 - 6, columnLabels[j], "start", extra: ("transform", $"rotate(-45 {Fmt.N(cx)} {Fmt.N(y0 - 6)})"));
            else
                w.Label(cx, y0 - 6, columnLabels[j], "middle");
        }

        w.Close("g");
        w.Open("g", ("class", "row-labels"), ("font-size", Fmt.N(labelFont)));
        for (var i = 0; i < rows; i += rowStep) w.Label(x0 - 6, y0 + (i + 0.5) * cell + 4, rowLabels[i], "end");
        w.Close("g");

        if (options.MaskUpperTriangle)
            w.Empty("rect", ("class", "frame"), ("x", Fmt.N(x0)), ("y", Fmt.N(y0)), ("width", Fmt.N(width)), ("height", Fmt.N(height)), ("fill", "none"), ("stroke", "#e2e2e2"));

        w.Open("g", ("class", "cells"), ("stroke", cell >= 10 ? "#ffffff" : "none"), ("stroke-width", "1"));
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                if (Masked(options, i, j)) continue;
                var v = values[i, j];
                var nan = double.IsNaN(v);
                (string, string)[] attributes =
                [
                    ("class", nan ? "cell nodata" : "cell"), ("x", Fmt.N(x0 + j * cell)), ("y", Fmt.N(y0 + i * cell)),
                    ("width", Fmt.N(cell)), ("height", Fmt.N(cell)), ("fill", nan ? SvgWriter.Url("nodata") : scale.Map(v).Hex),
                ];
                if (tooltips)
                {
                    w.Open("rect", attributes);
                    w.Text("title", $"{Fmt.Label(rowLabels[i])} × {Fmt.Label(columnLabels[j])}: {(nan ? "no data" : Fmt.Trimmed(v))}");
                    w.Close("rect");
                }
                else
                {
                    w.Empty("rect", attributes);
                }
            }
        }

        w.Close("g");

        if (showValues)
        {
            w.Open("g", ("class", "cell-values"), ("font-size", "10"), ("text-anchor", "middle"), ("style", "font-variant-numeric: tabular-nums"));
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < cols; j++)
                {
                    if (Masked(options, i, j)) continue;
                    var v = values[i, j];
                    var ink = double.IsNaN(v) ? SvgWriter.Muted : scale.Map(v).Luminance < 0.36 ? "#ffffff" : SvgWriter.Ink;
                    w.Label(x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell + 3.5, double.IsNaN(v) ? "n/a" : CellText(v), extra: ("fill", ink));
                }
            }

            w.Close("g");
        }

        w.Open("g", ("class", "color-bar"), ("font-size", "10"), ("fill", SvgWriter.Muted));
        if (options.ValueLabel is not null) w.Label(barX, barTop - 8, options.ValueLabel, "start", "axis-label");
        w.Empty("rect", ("x", Fmt.N(barX)), ("y", Fmt.N(barTop)), ("width", "12"), ("height", Fmt.N(barHeight)), ("fill", SvgWriter.Url("scale")), ("stroke", "#cccccc"), ("stroke-width", "0.5"));
        for (var k = 0; k < 3; k++)
        {
            var ty = barTop + barHeight * k / 2;
            w.Line(barX + 12, ty, barX + 15, ty, SvgWriter.Axis);
            w.Label(barX + 18, ty + 3.5, barLabels[k], "start");
        }

        if (hasNaN)
        {
            var ny = barTop + barHeight + 12;
            w.Empty("rect", ("x", Fmt.N(barX)), ("y", Fmt.N(ny)), ("width", "12"), ("height", "12"), ("fill", SvgWriter.Url("nodata")), ("stroke", "#cccccc"), ("stroke-width", "0.5"));
            w.Label(barX + 18, ny + 10, "no data", "start");
        }

        w.Close("g");
        return w.Finish();
    }

    /// <summary>A heatmap of a <c>[rows, columns]</c> tensor, as <see cref="Heatmap(string, double[,], IReadOnlyList{string}, IReadOnlyList{string}, HeatmapOptions?)"/>.</summary>
    /// <exception cref="ArgumentException">The tensor is not a matrix, or the label counts do not match it.</exception>
    public static string Heatmap(string title, CircuitDsl.Tensors.Tensor matrix, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, HeatmapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Rank != 2) throw new ArgumentException($"Heatmap '{title}' needs a matrix, not a tensor of rank {matrix.Rank}.", nameof(matrix));
        var values = new double[matrix.Dim(0), matrix.Dim(1)];
        for (var i = 0; i < matrix.Dim(0); i++)
        {
            for (var j = 0; j < matrix.Dim(1); j++) values[i, j] = matrix[i, j];
        }

        return Heatmap(title, values, rowLabels, columnLabels, options);
    }

    /// <summary>
    /// An attention pattern: queries down, keys across, both labelled with the tokens, on the sequential [0, 1] scale,
    /// with the causally masked upper triangle left empty.
    /// </summary>
    /// <exception cref="ArgumentException">The pattern is not square with one token per position.</exception>
    public static string AttentionPattern(string title, double[,] pattern, IReadOnlyList<string> tokens) =>
        Heatmap(title, pattern, tokens, tokens, new HeatmapOptions
        {
            Scale = ColorScale.Sequential(0, 1),
            RowAxisLabel = "query",
            ColumnAxisLabel = "key",
            ValueLabel = "attention",
            MaskUpperTriangle = true,
        });

    /// <summary>
    /// A direct logit attribution per head (<c>[n_layers, n_heads]</c>): layers down, heads across, on a diverging
    /// scale centred at zero so that a head that pushes the logit down reads as the opposite of one that pushes it up.
    /// </summary>
    public static string HeadAttribution(string title, double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var limit = Math.Max(1e-9, values.Cast<double>().Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max());
        return Heatmap(title, values, [.. Enumerable.Range(0, values.GetLength(0)).Select(l => $"layer {l}")],
            [.. Enumerable.Range(0, values.GetLength(1)).Select(h => $"head {h}")],
            new HeatmapOptions { Scale = ColorScale.Diverging(limit), RowAxisLabel = "layer", ColumnAxisLabel = "head", ValueLabel = "logit" });
    }

    /// <summary>Every how many labels one is written so that labels <paramref name="spacing"/> apart are a line of text apart.</summary>
    private static int LabelStep(double spacing, double font) => Math.Max(1, (int)Math.Ceiling((font + 1) / spacing));

    private static bool Masked(HeatmapOptions options, int i, int j) => options.MaskUpperTriangle && j > i;

    private static ColorScale AutoScale(List<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count == 0) return ColorScale.Sequential(0, 1);
        var (min, max) = (finite.Min(), finite.Max());
        if (min >= 0) return ColorScale.Sequential(0, max <= 1 ? 1 : max);
        var limit = Math.Max(Math.Abs(min), Math.Abs(max));
        return ColorScale.Diverging(limit);
    }

    /// <summary>A cell's value in two decimals (<c>0.51</c>, <c>−0.07</c>), or 3 significant digits when that says nothing.</summary>
    private static string CellText(double v)
    {
        var abs = Math.Abs(v);
        return abs >= 100 || (abs > 0 && abs < 0.005) ? Fmt.Value(v, 2) : Fmt.Tick(v, 0.01);
    }
}
