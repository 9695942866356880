using MathNet.Numerics;

namespace CircuitDsl.Training;

/// <summary>Derivatives of the MLP activations that <see cref="Tensors.Ops.Activation"/> computes.</summary>
internal static class Activations
{
    private static readonly float SqrtTwoOverPi = MathF.Sqrt(2f / MathF.PI);
    private static readonly double InvSqrtTwoPi = 1.0 / Math.Sqrt(2.0 * Math.PI);

    /// <summary><c>grad[i] *= act'(pre[i])</c> for the activation <paramref name="actFn"/>.</summary>
    public static void MultiplyByDerivative(ReadOnlySpan<float> pre, Span<float> grad, ActivationFunction actFn)
    {
        switch (actFn)
        {
            case ActivationFunction.Relu:
                for (var i = 0; i < pre.Length; i++)
                {
                    grad[i] = pre[i] > 0f ? grad[i] : 0f;
                }

                break;
            case ActivationFunction.Gelu:
                // gelu(x) = x Φ(x)  ⇒  gelu'(x) = Φ(x) + x φ(x).
                for (var i = 0; i < pre.Length; i++)
                {
                    double x = pre[i];
                    var cdf = 0.5 * (1.0 + SpecialFunctions.Erf(x / Math.Sqrt(2.0)));
                    var pdf = InvSqrtTwoPi * Math.Exp(-0.5 * x * x);
                    grad[i] *= (float)(cdf + (x * pdf));
                }

                break;
            case ActivationFunction.GeluNew:
                // 0.5 x (1 + tanh u), u = sqrt(2/π)(x + 0.044715 x³).
                for (var i = 0; i < pre.Length; i++)
                {
                    var x = pre[i];
                    var tanh = MathF.Tanh(SqrtTwoOverPi * (x + (0.044715f * x * x * x)));
                    var du = SqrtTwoOverPi * (1f + (3f * 0.044715f * x * x));
                    grad[i] *= (0.5f * (1f + tanh)) + (0.5f * x * (1f - (tanh * tanh)) * du);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(actFn), actFn, "Not an activation function.");
        }
    }
}
