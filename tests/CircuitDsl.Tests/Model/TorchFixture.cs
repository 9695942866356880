using System.Text.Json;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Model;

/// <summary>A forward-pass fixture written by Fixtures/Forward/make_fixtures.py (PyTorch, double precision).</summary>
internal sealed record TorchFixture(TransformerWeights Weights, int[][] Tokens, double[][][] Logits)
{
    public static readonly string[] Names =
        ["attn_only_2l", "ln_gelu_1l", "ln_mlp_gelu_new", "lnpre_relu_shortformer", "zero_layer"];

    public static TorchFixture Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Forward", name + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var config = root.GetProperty("config").Deserialize<ModelConfig>()!;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in root.GetProperty("weights").EnumerateObject())
        {
            var shape = new List<int>();
            var e = entry.Value;
            while (e.ValueKind == JsonValueKind.Array)
            {
                shape.Add(e.GetArrayLength());
                e = e[0];
            }

            var values = new List<float>();
            Flatten(entry.Value, values);
            tensors[entry.Name] = new Tensor(values.ToArray(), [.. shape]);
        }

        return new TorchFixture(
            TransformerWeights.FromStateDict(config, tensors, path),
            root.GetProperty("tokens").Deserialize<int[][]>()!,
            root.GetProperty("logits").Deserialize<double[][][]>()!);
    }

    private static void Flatten(JsonElement e, List<float> into)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray())
            {
                Flatten(item, into);
            }
        }
        else
        {
            into.Add(e.GetSingle());
        }
    }
}
