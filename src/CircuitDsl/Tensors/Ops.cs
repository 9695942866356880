using System.Numerics.Tensors;

namespace CircuitDsl.Tensors;

/// <summary>The element-wise and row-wise kernels of the forward pass.</summary>
public static class Ops
{
    /// <summary>TransformerLens's LayerNorm epsilon.</summary>
    public const float LayerNormEpsilon = 1e-5f;

    /// <summary>Softmax of each row of length <paramref name="cols"/>, in place; stable for large and −∞ entries.</summary>
    public static void SoftmaxRows(Span<float> data, int cols)
    {
        for (var r = 0; r < data.Length; r += cols)
        {
            var row = data.Slice(r, cols);
            // TensorPrimitives.SoftMax does not subtract the maximum, so exp overflows past ~88.
            TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
            TensorPrimitives.Exp(row, row);
            TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
        }
    }

    /// <summary>
    /// LayerNorm of each row: <c>(x − mean) / sqrt(var + eps) · w + b</c>, population variance. With empty
    /// <paramref name="weight"/> and <paramref name="bias"/> it only normalises (TransformerLens's <c>LNPre</c>).
    /// </summary>
    public static void LayerNormRows(
        ReadOnlySpan<float> x, Span<float> y, int cols, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        float eps = LayerNormEpsilon)
    {
        for (var r = 0; r < x.Length; r += cols)
        {
            var xr = x.Slice(r, cols);
            var yr = y.Slice(r, cols);
            var mean = TensorPrimitives.Sum(xr) / cols;
            TensorPrimitives.Subtract(xr, mean, yr);
            var variance = TensorPrimitives.SumOfSquares(yr) / cols;
            TensorPrimitives.Multiply(yr, 1f / MathF.Sqrt(variance + eps), yr);
            if (!weight.IsEmpty)
            {
                TensorPrimitives.Multiply(yr, weight, yr);
                TensorPrimitives.Add(yr, bias, yr);
            }
        }
    }

    /// <summary>The activation named by TransformerLens's <c>act_fn</c>, in place.</summary>
    public static void Activation(Span<float> data, string actFn)
    {
        switch (actFn)
        {
            case "relu":
                TensorPrimitives.Max(data, 0f, data);
                break;
            case "gelu":
                for (var i = 0; i < data.Length; i++)
                {
                    var x = data[i];
                    data[i] = 0.5f * x * (1f + Erf(x / MathF.Sqrt(2f)));
                }

                break;
            case "gelu_new":
                for (var i = 0; i < data.Length; i++)
                {
                    var x = data[i];
                    data[i] = 0.5f * x * (1f + MathF.Tanh(MathF.Sqrt(2f / MathF.PI) * (x + (0.044715f * x * x * x))));
                }

                break;
            default:
                throw new ArgumentException($"Unknown activation function '{actFn}' (expected relu, gelu or gelu_new).", nameof(actFn));
        }
    }

    /// <summary>The error function via the Chebyshev-fitted complementary error function (relative error &lt; 1.2e-7).</summary>
    private static float Erf(float x)
    {
        var t = 1.0 / (1.0 + (0.5 * Math.Abs(x)));
        var y = 1.0 - (t * Math.Exp((-x * x) - 1.26551223 + (t * (1.00002368 + (t * (0.37409196 + (t * (0.09678418
            + (t * (-0.18628806 + (t * (0.27886807 + (t * (-1.13520398 + (t * (1.48851587
            + (t * (-0.82215223 + (t * 0.17087277)))))))))))))))))));
        return (float)(x >= 0 ? y : -y);
    }
}
