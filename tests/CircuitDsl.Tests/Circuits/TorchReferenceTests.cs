using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// Composition and copying scores against TransformerLens's formulas run in PyTorch on the same weights
/// (Fixtures/Circuits/make_fixtures.py wrote scores.json).
/// </summary>
public sealed class TorchReferenceTests
{
    private static readonly JsonElement Fixture = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Circuits", "scores.json"))).RootElement;

    private static TransformerWeights Weights()
    {
        var config = Fixture.GetProperty("config").Deserialize<ModelConfig>()!;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var p in Fixture.GetProperty("weights").EnumerateObject())
        {
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var data = p.Value.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
            tensors[p.Name] = new Tensor(data, shape);
        }

        return TransformerWeights.FromStateDict(config, tensors, "scores.json");
    }

    [Fact]
    public void Composition_scores_agree_with_PyTorch()
    {
        var w = Weights();
        var table = CompositionScores.Compute(w);
        var checkedPairs = 0;
        foreach (var kind in new[] { CompositionKind.Q, CompositionKind.K, CompositionKind.V })
        {
            foreach (var row in Fixture.GetProperty("composition").GetProperty(kind.ToString()).EnumerateArray())
            {
                var r = row.EnumerateArray().ToArray();
                var (from, to) = (new HeadId(r[0].GetInt32(), r[1].GetInt32()), new HeadId(r[2].GetInt32(), r[3].GetInt32()));
                table.Score(kind, from, to).Should().BeApproximately(r[4].GetDouble(), 1e-4, $"{kind} {from}→{to}");
                checkedPairs++;
            }
        }

        checkedPairs.Should().Be(3 * 12, "3 kinds × (2·4 + 2·2) earlier/later pairs");
    }

    [Fact]
    public void Copying_scores_agree_with_PyTorch()
    {
        var copying = CopyingScores.Compute(Weights());
        var rows = Fixture.GetProperty("copying").EnumerateArray().ToList();
        rows.Should().HaveCount(6);
        foreach (var row in rows)
        {
            var r = row.EnumerateArray().ToArray();
            var head = new HeadId(r[0].GetInt32(), r[1].GetInt32());
            copying.Score(head).Should().BeApproximately(r[2].GetDouble(), 1e-4, head.ToString());
        }
    }
}
