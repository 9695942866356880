using CircuitDsl.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Training;

/// <summary>
/// Every parameter gradient of <see cref="TrainingPass"/> against central finite differences of a naive
/// double-precision reference (<see cref="ReferenceTransformer"/>), on tiny random models.
/// </summary>
public sealed class GradientTests
{
    private static ModelConfig Tiny(bool attnOnly, Normalization norm, ActivationFunction act = ActivationFunction.Relu,
        PositionalEmbedding pos = PositionalEmbedding.Standard) => new()
    {
        NLayers = 2, NHeads = 2, DModel = 6, DHead = 3, DVocab = 7, NCtx = 5,
        AttnOnly = attnOnly, DMlp = attnOnly ? null : 8, ActFn = attnOnly ? null : act,
        NormalizationType = norm, PositionalEmbeddingType = pos,
    };

    public static TheoryData<string, int> Cases => new()
    {
        { "attn-only, no LN, standard", 5 },
        { "LN + MLP gelu", 5 },
        { "LNPre + MLP relu", 5 },
        { "shortformer, LN + MLP gelu_new", 5 },
        { "attn-only LN, shorter than n_ctx", 4 },
        { "zero layers, LN", 5 },
    };

    private static ModelConfig ConfigFor(string name) => name switch
    {
        "attn-only, no LN, standard" => Tiny(true, Normalization.None),
        "LN + MLP gelu" => Tiny(false, Normalization.LN, ActivationFunction.Gelu),
        "LNPre + MLP relu" => Tiny(false, Normalization.LNPre, ActivationFunction.Relu),
        "shortformer, LN + MLP gelu_new" => Tiny(false, Normalization.LN, ActivationFunction.GeluNew, PositionalEmbedding.Shortformer),
        "attn-only LN, shorter than n_ctx" => Tiny(true, Normalization.LN),
        "zero layers, LN" => Tiny(true, Normalization.LN) with { NLayers = 0 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_parameter_gradient_matches_double_precision_finite_differences(string name, int length)
    {
        var config = ConfigFor(name);
        var weights = RandomWeights(config, seed: 7);
        var tokens = RandomTokens(config.DVocab, sequences: 3, length, seed: 11);

        var (loss, gradient) = TrainingPass.LossAndGradient(weights, tokens);

        var reference = new ReferenceTransformer(weights);
        var referenceLoss = reference.MeanLoss(tokens);
        ((double)loss).Should().BeApproximately(referenceLoss, 1e-5 * Math.Abs(referenceLoss), "the training forward's loss is the reference loss");

        const double step = 1e-5;
        var analytic = gradient.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Span.ToArray());
        foreach (var (param, values) in reference.Parameters)
        {
            var numeric = new double[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var original = values[i];
                values[i] = original + step;
                var up = reference.MeanLoss(tokens);
                values[i] = original - step;
                var down = reference.MeanLoss(tokens);
                values[i] = original;
                numeric[i] = (up - down) / (2 * step);
            }

            var norm = Math.Sqrt(numeric.Sum(g => g * g));
            for (var i = 0; i < values.Length; i++)
            {
                var tolerance = (1e-3 * Math.Abs(numeric[i])) + (1e-4 * norm) + 1e-7;
                ((double)analytic[param][i]).Should().BeApproximately(numeric[i], tolerance, $"{param}[{i}] in the {name} model");
            }
        }
    }

    internal static TransformerWeights RandomWeights(ModelConfig config, int seed)
    {
        var rng = new Random(seed);
        var weights = TransformerWeights.Zeros(config);
        foreach (var (name, t) in weights.ToStateDict())
        {
            var span = t.Span;
            var isLnWeight = name.EndsWith(".w", StringComparison.Ordinal);
            for (var i = 0; i < span.Length; i++)
            {
                var u = (rng.NextDouble() * 2) - 1;
                span[i] = (float)(isLnWeight ? 1 + (0.3 * u) : name.Contains(".b_", StringComparison.Ordinal) || name.EndsWith(".b", StringComparison.Ordinal) ? 0.2 * u : 0.8 * u);
            }
        }

        return weights;
    }

    internal static int[][] RandomTokens(int vocab, int sequences, int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, sequences).Select(_ => Enumerable.Range(0, length).Select(_ => rng.Next(vocab)).ToArray()).ToArray();
    }
}
