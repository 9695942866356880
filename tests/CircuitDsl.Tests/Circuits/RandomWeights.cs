using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace CircuitDsl.Tests.Circuits;

/// <summary>Seeded random weights and residual-stream rotations for the circuit tests.</summary>
internal static class RandomWeights
{
    public static ModelConfig Config(int layers = 2, int heads = 2, int dModel = 8, int dHead = 3, int vocab = 11,
        int ctx = 9, Normalization norm = Normalization.None, bool attnOnly = true) => new()
    {
        NLayers = layers, NHeads = heads, DModel = dModel, DHead = dHead, DVocab = vocab, NCtx = ctx,
        AttnOnly = attnOnly, DMlp = attnOnly ? null : 2 * dModel, ActFn = attnOnly ? null : ActivationFunction.Gelu,
        NormalizationType = norm, PositionalEmbeddingType = PositionalEmbedding.Standard,
    };

    /// <summary>Every tensor uniform in ±scale; LayerNorm weights around 1.</summary>
    public static TransformerWeights Create(ModelConfig config, int seed, float scale = 0.5f)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in TransformerWeights.ExpectedTensors(config))
        {
            var t = new Tensor(shape);
            var isLnWeight = name.EndsWith("ln1.w", StringComparison.Ordinal) || name.EndsWith("ln2.w", StringComparison.Ordinal)
                || name == "ln_final.w";
            var span = t.Span;
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (isLnWeight ? 1f : 0f) + (scale * ((2 * rng.NextSingle()) - 1));
            }

            tensors[name] = t;
        }

        return TransformerWeights.FromStateDict(config, tensors, "<random>");
    }

    /// <summary>
    /// A small model (2 heads, d_model 8, d_head 3, 11 tokens) of the given architecture, weights uniform in ±0.7: the
    /// architectures the exact decompositions are checked on.
    /// </summary>
    public static TransformerWeights Architecture(Normalization norm, bool attnOnly, bool shortformer, int layers, int seed)
    {
        var config = Config(layers: layers, heads: 2, dModel: 8, dHead: 3, vocab: 11, norm: norm, attnOnly: attnOnly) with
        {
            PositionalEmbeddingType = shortformer ? PositionalEmbedding.Shortformer : PositionalEmbedding.Standard,
        };
        return Create(config, seed, scale: 0.7f);
    }

    /// <summary>A random orthogonal <c>[n × n]</c> matrix (Q of a QR of a Gaussian-ish matrix).</summary>
    public static Matrix<double> Orthogonal(int n, int seed)
    {
        var rng = new Random(seed);
        var m = Matrix<double>.Build.Dense(n, n, (_, _) => rng.NextDouble() - 0.5);
        return m.QR(QRMethod.Full).Q;
    }

    /// <summary>A naive double-precision product of float matrices, the tests' independent reference.</summary>
    public static double[,] Product(params Tensor[] factors)
    {
        var acc = ToArray(factors[0]);
        foreach (var f in factors.Skip(1))
        {
            var b = ToArray(f);
            int n = acc.GetLength(0), k = acc.GetLength(1), m = b.GetLength(1);
            var next = new double[n, m];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < m; j++)
                {
                    double s = 0;
                    for (var p = 0; p < k; p++)
                    {
                        s += acc[i, p] * b[p, j];
                    }

                    next[i, j] = s;
                }
            }

            acc = next;
        }

        return acc;
    }

    public static double[,] ToArray(Tensor t)
    {
        var a = new double[t.Dim(0), t.Dim(1)];
        for (var i = 0; i < t.Dim(0); i++)
        {
            for (var j = 0; j < t.Dim(1); j++)
            {
                a[i, j] = t[i, j];
            }
        }

        return a;
    }
}
