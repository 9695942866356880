using CircuitDsl.Docs;
using Xunit.Abstractions;

namespace CircuitDsl.Tests.Docs;

/// <summary>
/// Photographs HTML pages with headless chromium and looks at the pixels: the charts must really be drawn, in their
/// colours, not just be present as text. Skipped where chromium is missing.
/// </summary>
public sealed class ScreenshotTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("circuitdsl-screenshot").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ChromiumFact]
    public void The_png_decoder_reads_what_chromium_draws()
    {
        // Independent check of the decoder: four flat CSS colours at known places.
        var html = Path.Combine(_dir, "quadrants.html");
        File.WriteAllText(html, """
            <!DOCTYPE html><html><body style="margin:0">
            <div style="display:grid;grid-template-columns:200px 200px;grid-template-rows:150px 150px">
            <div style="background:#ff0000"></div><div style="background:#0000ff"></div>
            <div style="background:#00ff00"></div><div style="background:#123456"></div></div></body></html>
            """);
        var png = Path.Combine(_dir, "quadrants.png");

        Chromium.Screenshot(html, png, 400, 300);
        var image = Png.Decode(File.ReadAllBytes(png));

        (image.Width, image.Height).Should().Be((400, 300));
        image[50, 50].Should().Be(((byte)255, (byte)0, (byte)0));
        image[350, 50].Should().Be(((byte)0, (byte)0, (byte)255));
        image[50, 250].Should().Be(((byte)0, (byte)255, (byte)0));
        image[350, 250].Should().Be(((byte)0x12, (byte)0x34, (byte)0x56));
    }

    [ChromiumFact]
    public void The_sample_page_shows_its_heatmaps_in_colour()
    {
        var html = Path.Combine(_dir, "sample.html");
        File.WriteAllText(html, SamplePage.Html());
        var png = Path.Combine(_dir, "sample.png");

        Chromium.Screenshot(html, png, 1200, 4200);
        var image = Png.Decode(File.ReadAllBytes(png));
        var kept = Path.Combine(Path.GetTempPath(), "circuitdsl-docs-sample.png");
        File.Copy(png, kept, overwrite: true);
        File.Copy(html, Path.ChangeExtension(kept, ".html"), overwrite: true);
        output.WriteLine($"Screenshot of the sample page: {kept} (and the page beside it)");

        // The OV heatmap has one cell at +limit and one at −limit: full cells (≥ 30×30 px) in the scale's end colours.
        var diverging = ColorScale.Diverging(SamplePage.OvLimit);
        Count(image, diverging.Map(SamplePage.OvLimit)).Should().BeGreaterThan(600, "the strongest positive cell is deep red");
        Count(image, diverging.Map(-SamplePage.OvLimit)).Should().BeGreaterThan(600, "the strongest negative cell is deep blue");
        // The attention patterns' 0.88 cells are dark purple; the page background is white.
        Count(image, ColorScale.Sequential().Map(0.88)).Should().BeGreaterThan(600, "attention patterns are drawn");
        var white = Count(image, new Rgb(255, 255, 255));
        ((double)white / (image.Width * image.Height)).Should().BeGreaterThan(0.5, "the page is mostly white paper");
    }

    internal static int Count(Png image, Rgb colour, int tolerance = 4)
    {
        var n = 0;
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                var (r, g, b) = image[x, y];
                if (Math.Abs(r - colour.R) <= tolerance && Math.Abs(g - colour.G) <= tolerance && Math.Abs(b - colour.B) <= tolerance) n++;
            }
        }

        return n;
    }
}
