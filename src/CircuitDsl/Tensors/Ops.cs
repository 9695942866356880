using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace CircuitDsl.Tensors;

/// <summary>The element-wise and row-wise kernels of the forward pass (inference and training alike).</summary>
public static class Ops
{
    /// <summary>TransformerLens's LayerNorm epsilon.</summary>
    public const float LayerNormEpsilon = 1e-5f;

    /// <summary>Elements per chunk when an activation runs as several vectorised passes over a scratch buffer.</summary>
    private const int ChunkLength = 512;

    /// <summary>
    /// Softmax of each row of length <paramref name="cols"/>, in place. The row maximum is subtracted first, so
    /// large values do not overflow, and <c>-inf</c> entries (masked positions) get exactly 0. A row that is
    /// entirely <c>-inf</c> becomes NaN, as in PyTorch.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="cols"/> is not positive or does not divide the length.</exception>
    public static void SoftmaxRows(Span<float> data, int cols)
    {
        CheckRows(data.Length, cols, nameof(data));
        for (var r = 0; r < data.Length; r += cols)
        {
            var row = data.Slice(r, cols);
            var max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, row);
            TensorPrimitives.Exp(row, row);
            var sum = TensorPrimitives.Sum(row);
            TensorPrimitives.Divide(row, sum, row);
        }
    }

    /// <summary>
    /// LayerNorm of each row: <c>(x − mean) / sqrt(var + eps) · w + b</c>, population variance. With empty
    /// <paramref name="weight"/> and <paramref name="bias"/> it only normalises (TransformerLens's <c>LNPre</c>).
    /// <paramref name="y"/> may be <paramref name="x"/> itself.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths of the rows, output, weight or bias do not match.</exception>
    public static void LayerNormRows(
        ReadOnlySpan<float> x, Span<float> y, int cols, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        float eps = LayerNormEpsilon) =>
        LayerNormRows(x, y, cols, weight, bias, normalized: default, inverseStd: default, eps);

    /// <summary>
    /// <see cref="LayerNormRows(ReadOnlySpan{float}, Span{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, float)"/>
    /// that also keeps what its backward pass needs, when given room for it: <c>x̂ = (x − mean) / σ</c> in
    /// <paramref name="normalized"/> (as long as <paramref name="x"/>; not <paramref name="x"/> itself) and each row's
    /// <c>1/σ</c> in <paramref name="inverseStd"/> (one per row). Empty spans keep nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths of the rows, output, weight, bias or statistics do not match.</exception>
    internal static void LayerNormRows(
        ReadOnlySpan<float> x, Span<float> y, int cols, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> normalized, Span<float> inverseStd, float eps = LayerNormEpsilon)
    {
        CheckRows(x.Length, cols, nameof(x));
        if (y.Length != x.Length || (!normalized.IsEmpty && normalized.Length != x.Length))
        {
            throw new ArgumentException(
                $"LayerNorm output has {y.Length} elements (x̂ {normalized.Length}) but the input has {x.Length}.", nameof(y));
        }

        if (!inverseStd.IsEmpty && inverseStd.Length != x.Length / cols)
        {
            throw new ArgumentException($"LayerNorm keeps 1/σ of {x.Length / cols} rows, not {inverseStd.Length}.", nameof(inverseStd));
        }

        if (weight.Length != bias.Length || (!weight.IsEmpty && weight.Length != cols))
        {
            throw new ArgumentException(
                $"LayerNorm weight and bias must both be empty or both have {cols} elements (got {weight.Length} and {bias.Length}).",
                nameof(weight));
        }

        for (var r = 0; r < x.Length; r += cols)
        {
            var xr = x.Slice(r, cols);
            var yr = y.Slice(r, cols);
            var hr = normalized.IsEmpty ? yr : normalized.Slice(r, cols);
            var mean = TensorPrimitives.Sum(xr) / cols;
            TensorPrimitives.Subtract(xr, mean, hr);
            var variance = TensorPrimitives.SumOfSquares(hr) / cols;
            var rstd = 1f / MathF.Sqrt(variance + eps);
            TensorPrimitives.Multiply(hr, rstd, hr);
            if (!inverseStd.IsEmpty)
            {
                inverseStd[r / cols] = rstd;
            }

            if (!weight.IsEmpty)
            {
                TensorPrimitives.FusedMultiplyAdd(hr, weight, bias, yr);
            }
            else if (!normalized.IsEmpty)
            {
                hr.CopyTo(yr);
            }
        }
    }

    /// <summary>
    /// The activation TransformerLens's <c>act_fn</c> names, in place: <c>relu</c>; <c>gelu</c>, the exact
    /// <c>x · Φ(x)</c> with the normal CDF through erfc; <c>gelu_new</c>, the tanh approximation
    /// <c>0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="actFn"/> is not a defined value.</exception>
    public static void Activation(Span<float> data, ActivationFunction actFn)
    {
        switch (actFn)
        {
            case ActivationFunction.Relu:
                TensorPrimitives.Max(data, 0f, data);
                break;
            case ActivationFunction.Gelu:
                Gelu(data);
                break;
            case ActivationFunction.GeluNew:
                GeluNew(data);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(actFn), actFn, "Not an activation function.");
        }
    }

    /// <summary>The error function, from <see cref="Erfc"/>.</summary>
    internal static float Erf(float x) => x >= 0 ? 1f - Erfc(x) : Erfc(-x) - 1f;

    /// <summary>
    /// The complementary error function by the Chebyshev fit of Press et al., <i>Numerical Recipes</i> §6.2
    /// (fractional error below 1.2e-7 in exact arithmetic, so the small tail of erfc keeps its digits).
    /// </summary>
    internal static float Erfc(float x)
    {
        var z = MathF.Abs(x);
        var t = 1f / (1f + (0.5f * z));
        var r = t * MathF.Exp(ErfcExponent(t, z));
        return x >= 0 ? r : 2f - r;
    }

    private static void CheckRows(int length, int cols, string paramName)
    {
        if (cols <= 0 || length % cols != 0)
        {
            throw new ArgumentException($"{length} elements cannot be split into rows of {cols}.", paramName);
        }
    }

    /// <summary><c>−z² + P(t)</c>, the exponent of the erfc fit, for scalars and for vectors.</summary>
    private static float ErfcExponent(float t, float z) =>
        (-z * z) - 1.26551223f + (t * (1.00002368f + (t * (0.37409196f + (t * (0.09678418f + (t * (-0.18628806f
            + (t * (0.27886807f + (t * (-1.13520398f + (t * (1.48851587f + (t * (-0.82215223f + (t * 0.17087277f)))))))))))))))));

    private static Vector<float> ErfcExponent(Vector<float> t, Vector<float> z)
    {
        var p = Vector.FusedMultiplyAdd(t, new Vector<float>(0.17087277f), new Vector<float>(-0.82215223f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(1.48851587f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(-1.13520398f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(0.27886807f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(-0.18628806f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(0.09678418f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(0.37409196f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(1.00002368f));
        p = Vector.FusedMultiplyAdd(t, p, new Vector<float>(-1.26551223f));
        return p - (z * z);
    }

    /// <summary>
    /// Exact GELU, <c>x · Φ(x)</c>. With <c>h = erfc(|x|/√2) / 2</c>, <c>Φ(x)</c> is <c>h</c> for negative x and
    /// <c>1 − h</c> otherwise, which keeps the relative accuracy of the small negative tail.
    /// </summary>
    private static void Gelu(Span<float> data)
    {
        const float invSqrt2 = 0.70710678118654752f;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref var start = ref MemoryMarshal.GetReference(data);
            var half = new Vector<float>(0.5f);
            var one = Vector<float>.One;
            for (; i <= data.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var x = Vector.LoadUnsafe(ref start, (nuint)i);
                var z = Vector.Abs(x) * invSqrt2;
                var t = one / Vector.FusedMultiplyAdd(z, half, one);
                var h = half * t * Vector.Exp(ErfcExponent(t, z));
                var phi = Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), h, one - h);
                (x * phi).StoreUnsafe(ref start, (nuint)i);
            }
        }

        for (; i < data.Length; i++)
        {
            var x = data[i];
            var h = 0.5f * Erfc(MathF.Abs(x) * invSqrt2);
            data[i] = x * (x < 0 ? h : 1f - h);
        }
    }

    /// <summary>TransformerLens's <c>gelu_new</c>, as vectorised passes over chunks that stay in L1.</summary>
    private static void GeluNew(Span<float> data)
    {
        var sqrt2OverPi = MathF.Sqrt(2f / MathF.PI);
        Span<float> u = stackalloc float[ChunkLength];
        for (var offset = 0; offset < data.Length; offset += ChunkLength)
        {
            var x = data.Slice(offset, Math.Min(ChunkLength, data.Length - offset));
            var v = u[..x.Length];
            TensorPrimitives.Multiply(x, x, v);
            TensorPrimitives.Multiply(v, 0.044715f * sqrt2OverPi, v);
            TensorPrimitives.Add(v, sqrt2OverPi, v);
            TensorPrimitives.Multiply(v, x, v);
            TensorPrimitives.Tanh(v, v);
            TensorPrimitives.AddMultiply(v, 1f, x, v);
            TensorPrimitives.Multiply(v, 0.5f, x);
        }
    }
}
