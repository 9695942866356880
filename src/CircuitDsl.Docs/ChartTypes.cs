namespace CircuitDsl.Docs;

/// <summary>How a heatmap (<see cref="Svg.Heatmap(string, double[,], IReadOnlyList{string}, IReadOnlyList{string}, HeatmapOptions?)"/>) is drawn. Every member has a sensible default.</summary>
public sealed record HeatmapOptions
{
    /// <summary>
    /// The colour scale. Default: <see cref="ColorScale.Sequential"/> over [0, 1] when no value is negative and none
    /// exceeds 1, over [0, max] when none is negative, otherwise <see cref="ColorScale.Diverging"/> over ±max |value|.
    /// Pass one scale to several heatmaps to make them comparable.
    /// </summary>
    public ColorScale? Scale { get; init; }

    /// <summary>The name of the rows, written vertically on the left (e.g. "query").</summary>
    public string? RowAxisLabel { get; init; }

    /// <summary>The name of the columns, written above them (e.g. "key").</summary>
    public string? ColumnAxisLabel { get; init; }

    /// <summary>The name of the value, written above the colour bar (e.g. "score").</summary>
    public string? ValueLabel { get; init; }

    /// <summary>Whether each cell shows its value; default: when cells are large enough to hold the text.</summary>
    public bool? ShowValues { get; init; }

    /// <summary>
    /// Leaves the cells above the diagonal (column &gt; row) empty: a causal attention pattern, where a query cannot
    /// attend to later keys. The matrix must be square.
    /// </summary>
    public bool MaskUpperTriangle { get; init; }

    /// <summary>The side of a cell in pixels; default: fills about 360 px, between 6 and 40 px a cell.</summary>
    public double? CellSize { get; init; }
}

/// <summary>One bar of a <see cref="Svg.BarChart"/>.</summary>
/// <param name="Label">The bar's name, written on the left.</param>
/// <param name="Value">Its length, signed; NaN draws no bar.</param>
/// <param name="Threshold">Where to draw a threshold tick across the bar, if anywhere.</param>
/// <param name="Outcome">The verdict to colour and mark the bar with; none draws a plain bar coloured by sign.</param>
public sealed record Bar(string Label, double Value, double? Threshold = null, Reports.Verdict? Outcome = null);

/// <summary>One line of a <see cref="Svg.LineChart"/>: points (X[i], Y[i]); a NaN breaks the line.</summary>
/// <param name="Name">The legend entry.</param>
/// <param name="X">The x coordinates, one per point.</param>
/// <param name="Y">The y coordinates, as many as <paramref name="X"/>.</param>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);
