using CircuitDsl.Docs;

namespace CircuitDsl.Tests.Docs;

public sealed class ColorScaleTests
{
    private static IEnumerable<double> Steps(double from, double to, int n) => Enumerable.Range(0, n + 1).Select(k => from + (to - from) * k / n);

    [Fact]
    public void Sequential_colours_darken_monotonically_from_white()
    {
        var scale = ColorScale.Sequential(0, 1);

        var luminance = Steps(0, 1, 500).Select(v => scale.Map(v).Luminance).ToList();

        luminance.Should().BeInDescendingOrder();
        luminance[0].Should().BeGreaterThan(0.95);
        luminance[^1].Should().BeLessThan(0.05);
    }

    [Fact]
    public void Diverging_colours_darken_monotonically_away_from_zero_on_both_sides()
    {
        var scale = ColorScale.Diverging(2);

        // Visibly monotone: coarse steps strictly darker; fine steps never lighter by more than 8-bit rounding
        // (each channel is rounded on its own, so neighbours a fraction of a byte apart may swap by ~0.003).
        foreach (var sign in new[] { 1, -1 })
        {
            Steps(0, 2 * sign, 40).Select(v => scale.Map(v).Luminance).Should().BeInDescendingOrder().And.OnlyHaveUniqueItems();
            var fine = Steps(0, 2 * sign, 2000).Select(v => scale.Map(v).Luminance).ToList();
            fine.Zip(fine.Skip(1)).Should().OnlyContain(p => p.Second <= p.First + 0.004);
        }

        Steps(0.1, 2, 50).Should().OnlyContain(v => scale.Map(v).R > scale.Map(v).B && scale.Map(-v).B > scale.Map(-v).R);
        scale.Map(0).Should().Be(Rgb.Parse("#f7f7f7"));
    }

    [Fact]
    public void Values_outside_the_range_are_clamped_and_NaN_has_no_colour()
    {
        var scale = ColorScale.Diverging(1);

        scale.Map(5).Should().Be(scale.Map(1));
        scale.Map(double.NegativeInfinity).Should().Be(scale.Map(-1));
        scale.Invoking(s => s.Map(double.NaN)).Should().Throw<ArgumentException>().WithMessage("*no data*");
    }

    [Fact]
    public void A_scale_needs_a_real_range()
    {
        var act = () => ColorScale.Sequential(1, 1);

        act.Should().Throw<ArgumentException>().WithMessage("*min < max*");
    }

    [Fact]
    public void Luminance_matches_the_WCAG_definition_at_known_points()
    {
        new Rgb(255, 255, 255).Luminance.Should().BeApproximately(1, 1e-12);
        new Rgb(0, 0, 0).Luminance.Should().Be(0);
        new Rgb(255, 0, 0).Luminance.Should().BeApproximately(0.2126, 1e-12);
        Rgb.Parse("#808080").Luminance.Should().BeApproximately(0.21586, 1e-5); // ((128/255 + 0.055)/1.055)^2.4
        Rgb.Parse("#0a1B2c").Hex.Should().Be("#0a1b2c");
    }
}
