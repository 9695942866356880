using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// <see cref="ResidualDecomposition"/> against TransformerLens's definitions (decompose_resid, accumulated_resid,
/// apply_ln_to_stack, stack_head_results, logit_attrs) re-implemented in plain PyTorch on a random LayerNorm + MLP
/// model, with ln_final folded into the unembedding as TL users load it: Fixtures/Lens/make_fixtures.py.
/// </summary>
public sealed class TorchLensTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Lens", "ln_mlp_3l");

    [Fact]
    public void The_decomposed_and_accumulated_residual_stream_and_the_logit_lens_agree_with_TransformerLens()
    {
        var (folder, d, expected) = Load();
        using var _ = folder;

        var parts = d.Decompose();
        parts.Select(p => p.Label).Should().Equal(Strings(expected, "decompose_labels"));
        ShouldMatch(parts.Select(p => p.Value), expected.GetProperty("decompose"), "decompose_resid");

        var accumulated = d.Accumulated(includeMid: true);
        accumulated.Select(p => p.Label).Should().Equal(Strings(expected, "accumulated_labels"));
        ShouldMatch(accumulated.Select(p => p.Value), expected.GetProperty("accumulated"), "accumulated_resid");

        var lens = d.LogitLens(includeMid: true);
        ShouldMatch(lens.Select(l => l.Logits), expected.GetProperty("lens_logits"), "logit lens");
        ShouldMatchLosses(lens.Select(l => (l.Label, l.MeanLoss)), expected.GetProperty("lens_losses"));
        ShouldMatchLosses(d.LogitLens(includeMid: true, recomputeScale: true).Select(l => (l.Label, l.MeanLoss)),
            expected.GetProperty("recomputed_lens_losses"));

        var means = d.LogitLensMeans(includeMid: true);
        ShouldMatchLosses(means.Select(m => (m.Label, m.MeanLoss)), expected.GetProperty("lens_losses"));
        ShouldMatchLosses(means.Select(m => (m.Label, m.MeanLossOwnScale)), expected.GetProperty("recomputed_lens_losses"));
    }

    [Fact]
    public void Direct_logit_attribution_to_the_next_token_and_to_a_logit_difference_agrees_with_TransformerLens()
    {
        var (folder, d, expected) = Load();
        using var _ = folder;
        var tokens = expected.GetProperty("diff_tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();

        foreach (var (attribution, suffix) in new[] { (d.Attribute(), "next"), (d.Attribute(tokens[0], tokens[1]), "diff") })
        {
            ShouldMatch([attribution.Heads], expected.GetProperty($"heads_{suffix}"), $"heads, {suffix}");
            attribution.Components.Select(c => c.Label).Should().Equal(Strings(expected, "other_labels"));
            ShouldMatch(attribution.Components.Select(c => c.Value), expected.GetProperty($"others_{suffix}"), $"components, {suffix}");
        }
    }

    /// <summary>The decomposition reads the weights, which the folder maps: the caller disposes the folder after it.</summary>
    private static (ModelFolder Folder, ResidualDecomposition Decomposition, JsonElement Expected) Load()
    {
        var folder = ModelFolder.Load(Dir);
        var tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(Dir, "tokens.json")))!;
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement;
        return (folder, ResidualDecomposition.Compute(folder.Weights, tokens), expected);
    }

    private static IEnumerable<string> Strings(JsonElement expected, string name) =>
        expected.GetProperty(name).EnumerateArray().Select(s => s.GetString()!);

    /// <summary>The tensors, concatenated, equal the nested array flattened, within 1e-4 of its largest entry's size.</summary>
    private static void ShouldMatch(IEnumerable<Tensor> actual, JsonElement expected, string what)
    {
        var values = Flatten(expected).ToArray();
        var ours = actual.SelectMany(t => t.Span.ToArray()).ToArray();
        ours.Should().HaveCount(values.Length, what);
        var scale = Math.Max(1, values.Max(Math.Abs));
        for (var i = 0; i < values.Length; i++)
        {
            ((double)ours[i]).Should().BeApproximately(values[i], 1e-4 * scale, $"{what}, element {i}");
        }
    }

    private static void ShouldMatchLosses(IEnumerable<(string Label, double MeanLoss)> lens, JsonElement expected)
    {
        var losses = expected.EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var ours = lens.ToList();
        ours.Should().HaveCount(losses.Length);
        for (var i = 0; i < losses.Length; i++)
        {
            ours[i].MeanLoss.Should().BeApproximately(losses[i], 1e-4, ours[i].Label);
        }
    }

    private static IEnumerable<double> Flatten(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten) : [e.GetDouble()];
}
