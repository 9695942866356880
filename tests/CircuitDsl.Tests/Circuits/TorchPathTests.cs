using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// Every path term against an independent PyTorch implementation of the path expansion (its own forward pass and its
/// own enumeration of the paths, in double precision) on the same weights: Fixtures/Paths/make_fixtures.py.
/// </summary>
public sealed class TorchPathTests
{
    [Theory]
    [InlineData("ln_mlp_3l", 81)]
    [InlineData("lnpre_shortformer_3l", 41)]
    public void Every_term_and_each_orders_loss_agree_with_PyTorch(string name, int terms)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Paths", name);
        using var folder = ModelFolder.Load(dir);
        var tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "tokens.json")))!;
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "terms.json"))).RootElement;

        var decomposition = PathDecomposition.Compute(folder.Weights, tokens);

        var ours = decomposition.Terms.ToDictionary(t => Key(t.Id.Source.ToString(), t.Id.Heads.Select(h => h.ToString())));
        var theirs = expected.GetProperty("terms").EnumerateArray().ToList();
        theirs.Should().HaveCount(terms);
        ours.Keys.Should().BeEquivalentTo(theirs.Select(t =>
            Key(t.GetProperty("source").GetString()!, t.GetProperty("heads").EnumerateArray().Select(h => h.GetString()!))));
        foreach (var term in theirs)
        {
            var key = Key(term.GetProperty("source").GetString()!, term.GetProperty("heads").EnumerateArray().Select(h => h.GetString()!));
            var values = term.GetProperty("logits").EnumerateArray().SelectMany(s => s.EnumerateArray())
                .SelectMany(p => p.EnumerateArray()).Select(x => x.GetDouble()).ToArray();
            var actual = ours[key].Logits.Span.ToArray();
            actual.Should().HaveCount(values.Length);
            var scale = Math.Max(1, values.Max(Math.Abs));
            for (var i = 0; i < values.Length; i++)
            {
                ((double)actual[i]).Should().BeApproximately(values[i], 1e-4 * scale, $"{key}, element {i}");
            }
        }

        var importance = decomposition.Importance();
        var losses = expected.GetProperty("importance").EnumerateArray().ToList();
        importance.Should().HaveCount(losses.Count);
        for (var k = 0; k < losses.Count; k++)
        {
            importance[k].Loss.Should().BeApproximately(losses[k].GetProperty("loss").GetDouble(), 1e-4, $"order ≤ {k}");
        }
    }

    private static string Key(string source, IEnumerable<string> heads) => string.Join(" ", heads.Prepend(source));
}
