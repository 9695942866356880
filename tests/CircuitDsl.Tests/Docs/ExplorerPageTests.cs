using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Docs;
using CircuitDsl.Tests.Cli;
using CircuitDsl.Weights;
using Microsoft.Playwright;

namespace CircuitDsl.Tests.Docs;

/// <summary>
/// The interactive page of <c>circuitdsl view</c>, driven in Debian's headless chromium through Playwright (no browser
/// download: <see cref="Chromium.Path"/>): hovering and clicking tokens changes what the page draws, to the runtime's
/// numbers, and the page fetches nothing.
/// </summary>
public sealed class ExplorerPageTests : IDisposable
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Patching", "ln_mlp_3l");

    private readonly string _dir = Directory.CreateTempSubdirectory("circuitdsl-view").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ChromiumFact]
    public async Task Hovering_and_clicking_a_token_redraws_every_heads_attention_the_lens_and_the_attribution()
    {
        int[] tokens = [3, 1, 4, 1, 5, 2];
        var tokensFile = Path.Combine(_dir, "tokens.json");
        File.WriteAllText(tokensFile, "[[3, 1, 4, 1, 5, 2]]");
        var html = Path.Combine(_dir, "view.html");
        var (code, _, stderr) = CliRunner.Run("view", ModelDir, "--tokens", tokensFile, "--out", html);
        code.Should().Be(0, stderr);
        Exploration data;
        using (var folder = ModelFolder.Load(ModelDir))
        {
            data = Exploration.Compute(folder.Weights, tokens);
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.Path, Headless = true, Args = ["--no-sandbox", "--disable-gpu"],
        });
        var page = await browser.NewPageAsync();
        var requests = new List<string>();
        var errors = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        await page.GotoAsync(new Uri(html).AbsoluteUri);

        // At first the view shows the last position.
        ShouldMatch(await Weights(page, "1.0"), Row(data, 1, 0, tokens.Length - 1));
        (await page.Locator("#query").TextContentAsync()).Should().Contain("position 5");

        // Hovering over token 2 redraws every head from query 2; later keys get no attention.
        await page.Locator("#tokens .token[data-pos='2']").HoverAsync();
        foreach (var (layer, head) in new[] { (0, 0), (1, 0), (2, 1) })
        {
            ShouldMatch(await Weights(page, $"{layer}.{head}"), Row(data, layer, head, 2), $"head {layer}.{head} from position 2");
        }

        (await page.Locator(".head[data-head='2.1'] .key.future").CountAsync()).Should().Be(3);
        (await page.Locator("#lens-table td.selected").CountAsync()).Should().Be(data.LensLabels.Count);
        (await page.Locator("#lens-table td.selected").First.GetAttributeAsync("data-pos")).Should().Be("2");
        await ShouldShowAttribution(page, data, 2);

        // A click keeps position 1 while the pointer moves on.
        await page.Locator("#tokens .token[data-pos='1']").ClickAsync();
        await page.Locator("#tokens .token[data-pos='4']").HoverAsync();
        (await page.Locator("#query").TextContentAsync()).Should().Contain("position 1").And.Contain("kept");
        ShouldMatch(await Weights(page, "1.1"), Row(data, 1, 1, 1));
        await ShouldShowAttribution(page, data, 1);

        requests.Should().Equal([new Uri(html).AbsoluteUri], "the page is self-contained");
        errors.Should().BeEmpty();
    }

    [Fact]
    public void The_page_is_self_contained_and_what_it_cannot_show_is_refused_in_one_line()
    {
        var tokensFile = Path.Combine(_dir, "tokens.json");
        File.WriteAllText(tokensFile, "[[3, 1, 4], [1, 5, 2]]");
        var html = Path.Combine(_dir, "view.html");

        var (code, stdout, _) = CliRunner.Run("view", ModelDir, "--tokens", tokensFile, "--sequence", "1", "--out", html);

        code.Should().Be(0);
        stdout.Should().Contain(html);
        var page = File.ReadAllText(html);
        page.Should().NotContain("http://").And.NotContain("https://").And.NotContain(" src=").And.NotContain("<link");
        page.Should().Contain("\"tokens\":[\"1\",\"5\",\"2\"]");

        var (refused, _, stderr) = CliRunner.Run("view", ModelDir, "--tokens", tokensFile, "--sequence", "2", "--out", html);
        refused.Should().Be(2);
        stderr.Should().Contain("--sequence 2: the input has 2 sequence(s).");
        File.WriteAllText(tokensFile, "[[3]]");
        CliRunner.Run("view", ModelDir, "--tokens", tokensFile, "--out", html).Stderr.Should().Contain("at least two");
    }

    private static async Task ShouldShowAttribution(IPage page, Exploration data, int position)
    {
        var heads = data.HeadAttribution.Dim(1);
        var strongest = Enumerable.Range(0, data.HeadAttribution.Dim(0) * heads)
            .MaxBy(i => Math.Abs(data.HeadAttribution[i / heads][i % heads].Span[position]));
        var first = page.Locator("#attribution-table tr[data-head]").First;
        (await first.GetAttributeAsync("data-head")).Should().Be($"{strongest / heads}.{strongest % heads}");
        double.Parse((await first.Locator("td").TextContentAsync())!, CultureInfo.InvariantCulture)
            .Should().BeApproximately(data.HeadAttribution[strongest / heads][strongest % heads].Span[position], 1e-3);
    }

    private static void ShouldMatch(double[] drawn, double[] expected, string because = "")
    {
        drawn.Length.Should().Be(expected.Length);
        for (var k = 0; k < expected.Length; k++)
        {
            drawn[k].Should().BeApproximately(expected[k], 1e-4, $"key {k} {because}");
        }
    }

    private static async Task<double[]> Weights(IPage page, string head) =>
        [.. (await page.Locator($".head[data-head='{head}'] .key").EvaluateAllAsync<string[]>("keys => keys.map(k => k.dataset.weight)"))
            .Select(w => double.Parse(w, CultureInfo.InvariantCulture))];

    private static double[] Row(Exploration data, int layer, int head, int query) =>
        [.. Enumerable.Range(0, data.Tokens.Length).Select(k => k <= query ? data.Patterns[layer][head][query, k] : 0.0)];
}
