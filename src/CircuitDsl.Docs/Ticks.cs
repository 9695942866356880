namespace CircuitDsl.Docs;

/// <summary>"Nice" axis ticks: steps of 1, 2 or 5 times a power of ten that cover a range.</summary>
internal static class Ticks
{
    /// <summary>
    /// About <paramref name="target"/> ticks covering <paramref name="min"/>…<paramref name="max"/>; the returned domain
    /// is widened to the outer ticks. A degenerate range is widened around its value.
    /// </summary>
    public static (double Lo, double Hi, double Step, IReadOnlyList<double> Values) Nice(double min, double max, int target = 5)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (max < min) (min, max) = (max, min);
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            var pad = min == 0 ? 1 : Math.Abs(min) * 0.5;
            (min, max) = (min - pad, max + pad);
        }

        var step = NiceStep((max - min) / Math.Max(1, target));
        var lo = Math.Floor(min / step + 1e-9) * step;
        var hi = Math.Ceiling(max / step - 1e-9) * step;
        var values = new List<double>();
        for (var i = 0; lo + i * step <= hi + step * 1e-9; i++) values.Add(Clean(lo + i * step, step));
        return (lo, hi, step, values);
    }

    /// <summary>The smallest step of 1, 2 or 5 × 10ⁿ at least <paramref name="raw"/>.</summary>
    public static double NiceStep(double raw)
    {
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var f = raw / power;
        var nice = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
        return nice * power;
    }

    private static double Clean(double v, double step) => Math.Abs(v) < step * 1e-9 ? 0 : v;
}
