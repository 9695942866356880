using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>What an ablated head's output is replaced with.</summary>
public enum AblationKind
{
    /// <summary>Zero: the head's <c>z</c> is set to 0, so it writes nothing (not even its value bias).</summary>
    Zero,

    /// <summary>
    /// Mean: the head's <c>z</c> is set to its mean over every sequence and position of a reference batch, run
    /// through the unablated model — so the head writes a constant and carries no information about the input.
    /// </summary>
    Mean,
}

/// <summary>
/// Interventions on heads through the forward pass's <c>hook_z</c>: ablation, losses under ablation, the
/// fraction of loss a circuit recovers; MLPs through <c>hook_mlp_out</c>. Extracting a circuit into a smaller model
/// is <c>CircuitDsl.Surgery.Extraction</c>.
/// </summary>
public static class Ablation
{
    /// <summary>Each layer's mean <c>z</c> <c>[n_heads, d_head]</c> over every sequence and position of <paramref name="tokens"/>.</summary>
    public static Tensor[] MeanZ(HookedTransformer model, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        var c = model.Config;
        return MeanAt(model, tokens, HookNames.Z, c.NLayers, c.NHeads, c.DHead);
    }

    /// <summary>
    /// Each layer's mean MLP output (<c>hook_mlp_out</c>) <c>[d_model]</c> over every sequence and position of
    /// <paramref name="tokens"/>; empty for an attention-only model.
    /// </summary>
    public static Tensor[] MeanMlpOut(HookedTransformer model, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        var c = model.Config;
        return c.HasMlp ? MeanAt(model, tokens, HookNames.MlpOut, c.NLayers, c.DModel) : [];
    }

    /// <summary>
    /// Hooks on <c>hook_mlp_out</c> that mean-ablate the MLPs of <paramref name="layers"/>: each writes its mean output
    /// (<paramref name="meanMlpOut"/>, from <see cref="MeanMlpOut"/>) at every position. Added to <paramref name="into"/> when given.
    /// </summary>
    public static HookSet MlpHooks(ModelConfig config, IEnumerable<int> layers, Tensor[] meanMlpOut, HookSet? into = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(meanMlpOut);
        var hooks = into ?? new HookSet();
        foreach (var layer in layers.Distinct())
        {
            RequireMlp(config, layer);
            var mean = meanMlpOut[layer];
            hooks.Add(HookNames.MlpOut(layer), output =>
            {
                var span = output.Span;
                for (var r = 0; r < span.Length; r += config.DModel)
                {
                    mean.Span.CopyTo(span.Slice(r, config.DModel));
                }
            });
        }

        return hooks;
    }

    /// <summary>Throws unless layer <paramref name="layer"/> of the model has an MLP.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The layer is outside the model, or the model is attention-only.</exception>
    public static void RequireMlp(ModelConfig config, int layer)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.HasMlp)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), $"The model is attention-only: it has no MLP {layer}.");
        }

        if (layer < 0 || layer >= config.NLayers)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), $"MLP {layer} is outside the model ({config.NLayers} layers).");
        }
    }

    /// <summary>The mean over every row (sequence and position) of hook <paramref name="name"/> of each layer, shaped <paramref name="shape"/>.</summary>
    private static Tensor[] MeanAt(HookedTransformer model, int[][] tokens, Func<int, string> name, int layers, params int[] shape)
    {
        var width = shape.Aggregate(1, (a, b) => a * b);
        var means = new Tensor[layers];
        var hooks = new HookSet();
        for (var l = 0; l < layers; l++)
        {
            var layer = l;
            hooks.Add(name(layer), activation =>
            {
                var rows = activation.Length / width;
                var sum = new double[width];
                var span = activation.Span;
                for (var r = 0; r < rows; r++)
                {
                    for (var i = 0; i < width; i++)
                    {
                        sum[i] += span[(r * width) + i];
                    }
                }

                var mean = new Tensor(shape);
                for (var i = 0; i < width; i++)
                {
                    mean.Span[i] = (float)(sum[i] / rows);
                }

                means[layer] = mean;
            });
        }

        model.Forward(tokens, hooks);
        return means;
    }

    /// <summary>
    /// Hooks on <c>hook_z</c> that ablate <paramref name="heads"/>; <paramref name="meanZ"/> (from <see cref="MeanZ"/>)
    /// is required for <see cref="AblationKind.Mean"/>. Added to <paramref name="into"/> when given.
    /// </summary>
    public static HookSet Hooks(ModelConfig config, IEnumerable<HeadId> heads, AblationKind kind, Tensor[]? meanZ = null,
        HookSet? into = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(heads);
        if (kind == AblationKind.Mean && meanZ is null)
        {
            throw new ArgumentException("Mean ablation needs the mean z of each head (Ablation.MeanZ).", nameof(meanZ));
        }

        var hooks = into ?? new HookSet();
        foreach (var group in heads.Distinct().GroupBy(h => h.Layer))
        {
            var layerHeads = group.Select(h => h.Head).ToArray();
            foreach (var h in group)
            {
                RequireInModel(config, h);
            }

            var layer = group.Key;
            hooks.Add(HookNames.Z(layer), z =>
            {
                var span = z.Span;
                var rows = z.Length / (config.NHeads * config.DHead);
                for (var r = 0; r < rows; r++)
                {
                    foreach (var h in layerHeads)
                    {
                        var target = span.Slice(((r * config.NHeads) + h) * config.DHead, config.DHead);
                        if (kind == AblationKind.Zero)
                        {
                            target.Clear();
                        }
                        else
                        {
                            meanZ![layer][h].Span.CopyTo(target);
                        }
                    }
                }
            });
        }

        return hooks;
    }

    /// <summary>
    /// Mean next-token cross-entropy of <paramref name="tokens"/> (natural log), under optional hooks, straight out of
    /// the unembedding (<see cref="Losses.NextTokenCrossEntropy(HookedTransformer, int[][], HookSet?)"/>).
    /// </summary>
    /// <exception cref="NonFiniteLogitException">The (hooked) forward pass made a NaN or infinite logit at a predicting position.</exception>
    public static double Loss(HookedTransformer model, int[][] tokens, HookSet? hooks = null) => Losses.NextTokenCrossEntropy(model, tokens, hooks);

    /// <summary>Per-token next-token losses <c>[batch, pos − 1]</c> under optional hooks, straight out of the unembedding.</summary>
    /// <exception cref="NonFiniteLogitException">The (hooked) forward pass made a NaN or infinite logit at a predicting position.</exception>
    public static Tensor PerTokenLoss(HookedTransformer model, int[][] tokens, HookSet? hooks = null) => Losses.PerTokenCrossEntropy(model, tokens, hooks);

    /// <summary>The loss with <paramref name="heads"/> ablated (mean over <paramref name="tokens"/> for mean ablation).</summary>
    public static double AblatedLoss(HookedTransformer model, int[][] tokens, IEnumerable<HeadId> heads, AblationKind kind)
    {
        ArgumentNullException.ThrowIfNull(model);
        var mean = kind == AblationKind.Mean ? MeanZ(model, tokens) : null;
        return Loss(model, tokens, Hooks(model.Config, heads, kind, mean));
    }

    /// <summary>
    /// The fraction of loss a circuit recovers: with every head outside <paramref name="circuit"/> mean-ablated,
    /// <c>(L_ablate_all − L_circuit) / (L_ablate_all − L_full)</c>, the losses on <paramref name="tokens"/> and the means
    /// taken on <paramref name="meanTokens"/> (on <paramref name="tokens"/> themselves when null). 1 means the circuit
    /// alone does what the model does; 0 means it does no better than ablating everything. NaN when ablating every head
    /// changes nothing. <see cref="LossRecovered.StandardError"/> is the fraction's jackknife standard error over the
    /// sequences (leaving one sequence out at a time), NaN for a single sequence.
    /// </summary>
    public static LossRecovered FractionOfLossRecovered(HookedTransformer model, int[][] tokens, IEnumerable<HeadId> circuit,
        int[][]? meanTokens = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(circuit);
        var c = model.Config;
        var kept = circuit.ToHashSet();
        foreach (var h in kept)
        {
            RequireInModel(c, h);
        }

        var all = AllHeads(c).ToList();
        var mean = MeanZ(model, meanTokens ?? tokens);
        var full = SequenceLosses(PerTokenLoss(model, tokens));
        var ablateAll = SequenceLosses(PerTokenLoss(model, tokens, Hooks(c, all, AblationKind.Mean, mean)));
        var circuitLoss = SequenceLosses(PerTokenLoss(model, tokens, Hooks(c, all.Where(h => !kept.Contains(h)), AblationKind.Mean, mean)));
        double Fraction(double f, double k, double a) => Math.Abs(a - f) < 1e-12 ? double.NaN : (a - k) / (a - f);

        var n = tokens.Length;
        var fraction = Fraction(full.Average(), circuitLoss.Average(), ablateAll.Average());
        var standardError = double.NaN;
        if (n > 1)
        {
            double Without(double[] losses, int i) => (losses.Sum() - losses[i]) / (n - 1);
            var leaveOneOut = Enumerable.Range(0, n).Select(i => Fraction(Without(full, i), Without(circuitLoss, i), Without(ablateAll, i))).ToArray();
            var centre = leaveOneOut.Average();
            standardError = Math.Sqrt((n - 1.0) / n * leaveOneOut.Sum(x => (x - centre) * (x - centre)));
        }

        return new LossRecovered(full.Average(), circuitLoss.Average(), ablateAll.Average(), fraction) { StandardError = standardError };
    }

    /// <summary>Each sequence's mean loss, from per-token losses <c>[batch, pos − 1]</c>.</summary>
    public static double[] SequenceLosses(Tensor perToken)
    {
        ArgumentNullException.ThrowIfNull(perToken);
        int batch = perToken.Dim(0), positions = perToken.Dim(1);
        return [.. Enumerable.Range(0, batch).Select(b => Enumerable.Range(0, positions).Average(p => (double)perToken[b, p]))];
    }

    /// <summary>Every head of the model, layer by layer.</summary>
    public static IEnumerable<HeadId> AllHeads(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        for (var l = 0; l < config.NLayers; l++)
        {
            for (var h = 0; h < config.NHeads; h++)
            {
                yield return new HeadId(l, h);
            }
        }
    }

    /// <summary>Throws unless head <paramref name="h"/> is in the model.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The head's layer or index is outside the model.</exception>
    public static void RequireInModel(ModelConfig c, HeadId h)
    {
        if (h.Layer < 0 || h.Layer >= c.NLayers || h.Head < 0 || h.Head >= c.NHeads)
        {
            throw new ArgumentOutOfRangeException(nameof(h), $"Head {h} is outside the model ({c.NLayers} layers × {c.NHeads} heads).");
        }
    }
}

/// <summary>The losses behind <see cref="Ablation.FractionOfLossRecovered"/>.</summary>
/// <param name="Full">The model's loss.</param>
/// <param name="Circuit">The loss with every head outside the circuit mean-ablated.</param>
/// <param name="AblateAll">The loss with every head mean-ablated.</param>
/// <param name="Fraction"><c>(AblateAll − Circuit) / (AblateAll − Full)</c>; NaN when the denominator vanishes.</param>
public sealed record LossRecovered(double Full, double Circuit, double AblateAll, double Fraction)
{
    /// <summary>The jackknife standard error of <see cref="Fraction"/> over the sequences; NaN when not known.</summary>
    public double StandardError { get; init; } = double.NaN;
}
