using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Training;

/// <summary>How a model's weights start before training.</summary>
public static class Initialization
{
    /// <summary>TransformerLens's default <c>initializer_range</c> for a residual width: <c>0.8 / sqrt(d_model)</c>.</summary>
    public static double DefaultInitializerRange(int dModel) => 0.8 / Math.Sqrt(dModel);

    /// <summary>
    /// TransformerLens's default initialisation (<c>init_mode="gpt2"</c>, <c>_init_weights_gpt2</c>): every
    /// weight whose name contains <c>W_</c> (<c>W_E</c>, <c>W_pos</c>, <c>W_Q/K/V/O</c>, <c>W_in</c>,
    /// <c>W_out</c>, <c>W_U</c>) is drawn from <c>N(0, initializer_range²)</c>; biases are zero and LayerNorm
    /// weights one, as TransformerLens's modules create them. TransformerLens does not scale the residual
    /// projections by depth, and neither do we.
    /// </summary>
    /// <param name="config">The architecture.</param>
    /// <param name="seed">Seeds a <see cref="Random"/>; the same seed gives the same weights.</param>
    /// <param name="initializerRange">The standard deviation; null for <see cref="DefaultInitializerRange"/>.</param>
    public static TransformerWeights TransformerLensDefault(ModelConfig config, int seed, double? initializerRange = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var std = initializerRange ?? DefaultInitializerRange(config.DModel);
        var rng = new Random(seed);
        var weights = TransformerWeights.Zeros(config);
        foreach (var (name, tensor) in weights.ToStateDict())
        {
            if (!name.Contains("W_", StringComparison.Ordinal))
            {
                continue;
            }

            var span = tensor.Span;
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (float)(std * Gaussian.Next(rng));
            }
        }

        return weights;
    }
}
