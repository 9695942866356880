using System.Globalization;

namespace CircuitDsl.Docs;

/// <summary>An sRGB colour.</summary>
/// <param name="R">Red, 0–255.</param>
/// <param name="G">Green, 0–255.</param>
/// <param name="B">Blue, 0–255.</param>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>The colour as <c>#rrggbb</c>.</summary>
    public string Hex => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    /// <summary>WCAG relative luminance, 0 (black) to 1 (white).</summary>
    public double Luminance => 0.2126 * Linear(R) + 0.7152 * Linear(G) + 0.0722 * Linear(B);

    /// <summary>Parses <c>#rrggbb</c>.</summary>
    /// <exception cref="FormatException">The text is not <c>#</c> and six hex digits.</exception>
    public static Rgb Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != 7 || hex[0] != '#' || !int.TryParse(hex.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"'{hex}' is not a colour of the form #rrggbb.");
        return new Rgb((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    private static double Linear(byte c)
    {
        var s = c / 255.0;
        return s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4);
    }
}

/// <summary>
/// Maps numbers to colours. <see cref="Diverging"/> is for signed data: blue below zero, white at zero, red above,
/// symmetric so that equal magnitudes get equal weight. <see cref="Sequential"/> is for data with a natural zero such
/// as attention weights or composition scores: white to deep purple. Both are ColorBrewer ramps (RdBu, Purples),
/// which stay ordered in lightness, so they read in greyscale and for colour-blind readers.
/// </summary>
public sealed class ColorScale
{
    private static readonly Rgb[] RdBu =
        [.. new[] { "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f" }.Select(Rgb.Parse)];

    private static readonly Rgb[] Purples =
        [.. new[] { "#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d" }.Select(Rgb.Parse)];

    private readonly Rgb[] _anchors;

    private ColorScale(double min, double max, Rgb[] anchors, bool diverging)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(max > min))
            throw new ArgumentException($"A colour scale needs finite bounds with min < max; got [{min}, {max}].");
        Min = min;
        Max = max;
        _anchors = anchors;
        IsDiverging = diverging;
    }

    /// <summary>A blue–white–red scale over [−<paramref name="limit"/>, <paramref name="limit"/>]; zero is white.</summary>
    /// <exception cref="ArgumentException"><paramref name="limit"/> is not positive and finite.</exception>
    public static ColorScale Diverging(double limit) => new(-limit, limit, RdBu, diverging: true);

    /// <summary>A white-to-purple scale over [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <exception cref="ArgumentException">The bounds are not finite with min &lt; max.</exception>
    public static ColorScale Sequential(double min = 0, double max = 1) => new(min, max, Purples, diverging: false);

    /// <summary>The value mapped to the first colour; smaller values are clamped to it.</summary>
    public double Min { get; }

    /// <summary>The value mapped to the last colour; larger values are clamped to it.</summary>
    public double Max { get; }

    /// <summary>Whether this is the signed blue–white–red scale (zero is its midpoint).</summary>
    public bool IsDiverging { get; }

    /// <summary>The colours the scale interpolates between, evenly spaced from <see cref="Min"/> to <see cref="Max"/>.</summary>
    public IReadOnlyList<Rgb> Anchors => _anchors;

    /// <summary>The colour of <paramref name="value"/>, clamped to the range; NaN has no colour and throws.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is NaN.</exception>
    public Rgb Map(double value)
    {
        if (double.IsNaN(value)) throw new ArgumentException("NaN has no colour; draw it as 'no data'.", nameof(value));
        var t = Math.Clamp((value - Min) / (Max - Min), 0, 1) * (_anchors.Length - 1);
        var i = Math.Min((int)Math.Floor(t), _anchors.Length - 2);
        var f = t - i;
        var (a, b) = (_anchors[i], _anchors[i + 1]);
        return new Rgb(Lerp(a.R, b.R, f), Lerp(a.G, b.G, f), Lerp(a.B, b.B, f));
    }

    private static byte Lerp(byte a, byte b, double f) => (byte)Math.Round(a + (b - a) * f, MidpointRounding.AwayFromZero);
}
