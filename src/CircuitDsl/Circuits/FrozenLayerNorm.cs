using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// LayerNorm with its scale frozen at the real forward pass's value (docs/math.md, "Path expansion"): centring is
/// linear and the scale a constant, so a frozen LayerNorm of a sum is the sum of the frozen LayerNorms of its parts.
/// The one home of this linearisation, shared by <see cref="PathDecomposition"/> and <see cref="ResidualDecomposition"/>.
/// </summary>
internal static class FrozenLayerNorm
{
    /// <summary>
    /// <c>1 / sqrt(var(x) + eps)</c> per row <c>[rows]</c> of the residual stream <paramref name="residual"/> (any
    /// shape ending in <c>d_model</c>), as LayerNorm computes it; empty for a model without LayerNorm.
    /// </summary>
    public static float[] InverseScales(ModelConfig config, Tensor residual)
    {
        if (!config.HasLayerNorm)
        {
            return [];
        }

        var dm = config.DModel;
        var scales = new float[residual.Length / dm];
        for (var row = 0; row < scales.Length; row++)
        {
            var x = residual.Span.Slice(row * dm, dm);
            float mean = 0;
            foreach (var value in x)
            {
                mean += value;
            }

            mean /= dm;
            float variance = 0;
            foreach (var value in x)
            {
                variance += (value - mean) * (value - mean);
            }

            scales[row] = 1f / MathF.Sqrt((variance / dm) + Ops.LayerNormEpsilon);
        }

        return scales;
    }

    /// <summary>
    /// <c>centre(r) / σ ⊙ w</c> with the frozen <c>1/σ</c> per row (LN), without <c>w</c> (LNPre), or <c>r</c> itself
    /// (none), over rows <c>[rows, d_model]</c>. Row <c>i</c> uses scale <c>i mod inverseScale.Length</c>, so a stack
    /// of contributions <c>[components, batch · pos, d_model]</c> is normalised at once. The result is written into
    /// <paramref name="destination"/> when one is given (of the residual's length), else into a new tensor.
    /// </summary>
    public static Tensor Apply(ModelConfig config, Tensor residual, float[] inverseScale, Tensor? weight, Tensor? destination = null)
    {
        if (!config.HasLayerNorm)
        {
            return residual;
        }

        var dm = config.DModel;
        var rows = residual.Length / dm;
        var y = destination ?? new Tensor(rows, dm);
        ArgumentOutOfRangeException.ThrowIfNotEqual(y.Length, residual.Length, nameof(destination));
        for (var row = 0; row < rows; row++)
        {
            var x = residual.Span.Slice(row * dm, dm);
            var target = y.Span.Slice(row * dm, dm);
            float mean = 0;
            foreach (var value in x)
            {
                mean += value;
            }

            mean /= dm;

            // ((x − mean) · 1/σ) · w element by element, in vector registers: the same float operations in the same order.
            TensorPrimitives.Subtract(x, mean, target);
            TensorPrimitives.Multiply(target, inverseScale[row % inverseScale.Length], target);
            if (weight is not null)
            {
                TensorPrimitives.Multiply(target, weight.Span, target);
            }
        }

        return y;
    }

    /// <summary>
    /// <c>b_U + b_final W_U</c> <c>[d_vocab]</c>: what the final LayerNorm's bias and the unembedding's bias add to the
    /// logits at every position, whatever the residual stream holds.
    /// </summary>
    public static Tensor UnembedConstant(TransformerWeights weights)
    {
        var constant = weights.b_U.Clone().Reshape(1, weights.Config.DVocab);
        if (weights.LnFinalB is { } lnBias)
        {
            Gemm.MatMul(lnBias.Reshape(1, weights.Config.DModel), weights.W_U, constant, beta: 1f);
        }

        return constant.Reshape(weights.Config.DVocab);
    }
}
