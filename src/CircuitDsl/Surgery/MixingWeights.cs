using CircuitDsl.Model;

namespace CircuitDsl.Surgery;

/// <summary>
/// The one scalar per part that a composite may fit: the weight <c>α_p</c> on part <c>p</c>'s unembedding. The
/// residual stream does not depend on them, so the composite's logits are exactly <c>Σ_p α_p C_p</c>, where
/// <c>C_p</c> are its logits with every weight but <c>α_p = 1</c> set to 0; the mean next-token cross-entropy is convex
/// in <c>α</c> and is minimised by Newton's method with a backtracking line search.
/// </summary>
/// <param name="Alpha">The fitted weights, one per part.</param>
/// <param name="UnitLoss">The composite's loss on the fitting tokens with every weight 1.</param>
/// <param name="FittedLoss">Its loss with <see cref="Alpha"/>.</param>
/// <param name="PartLosses">Each part's own loss on the same tokens.</param>
public sealed record MixingWeights(IReadOnlyList<double> Alpha, double UnitLoss, double FittedLoss, IReadOnlyList<double> PartLosses)
{
    private const int MaxIterations = 50;

    /// <summary>Fits the mixing weights of the composite of <paramref name="parts"/> on <paramref name="tokens"/>.</summary>
    /// <exception cref="ArgumentException">The parts cannot be composed, or the tokens are unusable (ids, lengths).</exception>
    public static MixingWeights Fit(IReadOnlyList<TransformerWeights> parts, CompositionAlignment alignment, int[][] tokens,
        IReadOnlyList<StreamMap>? maps = null)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(tokens);
        var partLosses = parts.Select(w => Losses.NextTokenCrossEntropy(new HookedTransformer(w), tokens)).ToList();
        var components = new float[parts.Count][];
        for (var p = 0; p < parts.Count; p++)
        {
            var unit = new double[parts.Count];
            unit[p] = 1;
            components[p] = new HookedTransformer(Composition.Compose(parts, alignment, unit, maps)).Forward(tokens).Span.ToArray();
        }

        var problem = new Problem(components, tokens, parts[0].Config.DVocab);
        var alpha = Enumerable.Repeat(1.0, parts.Count).ToArray();
        var unitLoss = problem.Loss(alpha);
        var loss = unitLoss;
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            problem.Loss(alpha, out var gradient, out var hessian);
            var step = Newton(gradient, hessian);
            var descent = gradient.Zip(step, (g, s) => g * s).Sum();
            if (-descent < 1e-12)
            {
                break;
            }

            var t = 1.0;
            double[] candidate;
            double candidateLoss;
            do
            {
                candidate = alpha.Zip(step, (a, s) => a + (t * s)).ToArray();
                candidateLoss = problem.Loss(candidate);
                t /= 2;
            }
            while (candidateLoss > loss + (1e-4 * 2 * t * descent) && t > 1e-10);

            if (candidateLoss >= loss)
            {
                break;
            }

            alpha = candidate;
            loss = candidateLoss;
        }

        return new MixingWeights(alpha, unitLoss, loss, partLosses);
    }

    /// <summary>The Newton step <c>−H⁻¹ g</c>, with a small ridge so a flat direction does not blow it up.</summary>
    private static double[] Newton(double[] gradient, double[,] hessian)
    {
        var n = gradient.Length;
        var h = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, n, (i, j) => hessian[i, j] + (i == j ? 1e-9 : 0));
        var g = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(gradient);
        return (-h.Solve(g)).ToArray();
    }

    /// <summary>The loss of <c>Σ_p α_p C_p</c>, alone or with its gradient and Hessian in <c>α</c>.</summary>
    private sealed class Problem(float[][] components, int[][] tokens, int vocab)
    {
        /// <summary>The loss alone, as the line search needs it.</summary>
        public double Loss(double[] alpha) => Evaluate(alpha, null, null);

        /// <summary>The loss, its gradient and its Hessian, for a Newton step.</summary>
        public double Loss(double[] alpha, out double[] gradient, out double[,] hessian)
        {
            gradient = new double[components.Length];
            hessian = new double[components.Length, components.Length];
            return Evaluate(alpha, gradient, hessian);
        }

        private double Evaluate(double[] alpha, double[]? gradient, double[,]? hessian)
        {
            var parts = components.Length;
            int positions = tokens[0].Length;
            var logits = new double[vocab];
            var mean = new double[parts];
            double total = 0;
            var rows = 0;
            for (var b = 0; b < tokens.Length; b++)
            {
                for (var pos = 0; pos + 1 < positions; pos++)
                {
                    var offset = ((b * positions) + pos) * vocab;
                    var max = double.NegativeInfinity;
                    for (var v = 0; v < vocab; v++)
                    {
                        double sum = 0;
                        for (var p = 0; p < parts; p++)
                        {
                            sum += alpha[p] * components[p][offset + v];
                        }

                        logits[v] = sum;
                        max = Math.Max(max, sum);
                    }

                    double z = 0;
                    for (var v = 0; v < vocab; v++)
                    {
                        logits[v] = Math.Exp(logits[v] - max);
                        z += logits[v];
                    }

                    var target = tokens[b][pos + 1];
                    var targetLogit = 0.0;
                    for (var p = 0; p < parts; p++)
                    {
                        targetLogit += alpha[p] * components[p][offset + target];
                    }

                    total += max + Math.Log(z) - targetLogit;
                    rows++;
                    if (gradient is null || hessian is null)
                    {
                        continue;
                    }

                    Array.Clear(mean);
                    for (var v = 0; v < vocab; v++)
                    {
                        var pi = logits[v] / z;
                        for (var p = 0; p < parts; p++)
                        {
                            mean[p] += pi * components[p][offset + v];
                        }
                    }

                    for (var v = 0; v < vocab; v++)
                    {
                        var pi = logits[v] / z;
                        for (var p = 0; p < parts; p++)
                        {
                            var dp = components[p][offset + v] - mean[p];
                            for (var q = 0; q <= p; q++)
                            {
                                hessian[p, q] += pi * dp * (components[q][offset + v] - mean[q]);
                            }
                        }
                    }

                    for (var p = 0; p < parts; p++)
                    {
                        gradient[p] += mean[p] - components[p][offset + target];
                    }
                }
            }

            if (gradient is null || hessian is null)
            {
                return total / rows;
            }

            for (var p = 0; p < parts; p++)
            {
                gradient[p] /= rows;
                for (var q = 0; q <= p; q++)
                {
                    hessian[p, q] /= rows;
                    hessian[q, p] = hessian[p, q];
                }
            }

            return total / rows;
        }
    }
}
