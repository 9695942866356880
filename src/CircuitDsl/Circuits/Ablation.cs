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
/// fraction of loss a circuit recovers, and extracting a circuit into a smaller model.
/// </summary>
public static class Ablation
{
    /// <summary>Each layer's mean <c>z</c> <c>[n_heads, d_head]</c> over every sequence and position of <paramref name="tokens"/>.</summary>
    public static Tensor[] MeanZ(HookedTransformer model, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        var c = model.Config;
        var means = new Tensor[c.NLayers];
        var hooks = new HookSet();
        for (var l = 0; l < c.NLayers; l++)
        {
            var layer = l;
            hooks.Add(HookNames.Z(layer), z =>
            {
                var rows = z.Length / (c.NHeads * c.DHead);
                var sum = new double[c.NHeads * c.DHead];
                var span = z.Span;
                for (var r = 0; r < rows; r++)
                {
                    for (var i = 0; i < sum.Length; i++)
                    {
                        sum[i] += span[(r * sum.Length) + i];
                    }
                }

                var mean = new Tensor(c.NHeads, c.DHead);
                for (var i = 0; i < sum.Length; i++)
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

    /// <summary>Mean next-token cross-entropy of <paramref name="tokens"/> (natural log), under optional hooks.</summary>
    public static double Loss(HookedTransformer model, int[][] tokens, HookSet? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Losses.NextTokenCrossEntropy(model.Forward(tokens, hooks), tokens);
    }

    /// <summary>Per-token next-token losses <c>[batch, pos − 1]</c> under optional hooks.</summary>
    public static Tensor PerTokenLoss(HookedTransformer model, int[][] tokens, HookSet? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Losses.PerTokenCrossEntropy(model.Forward(tokens, hooks), tokens);
    }

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

    /// <summary>
    /// The circuit as a smaller model: each layer keeps only <paramref name="circuit"/>'s heads (n_heads becomes the
    /// most any layer keeps; layers keeping fewer get inert zero heads), and each dropped head's constant ablated
    /// output (<c>mean z · W_O</c>, or nothing for zero ablation) is folded into <c>b_O</c>. Its logits equal the
    /// full model's with the other heads ablated. <see cref="ExtractedCircuit.HeadMap"/> says where each head went.
    /// </summary>
    public static ExtractedCircuit ExtractCircuit(HookedTransformer model, IEnumerable<HeadId> circuit, AblationKind kind,
        int[][]? meanTokens = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(circuit);
        var c = model.Config;
        var w = model.Weights;
        var kept = circuit.Distinct().ToList();
        foreach (var h in kept)
        {
            RequireInModel(c, h);
        }

        if (kind == AblationKind.Mean && meanTokens is null)
        {
            throw new ArgumentException("Mean ablation needs reference tokens to take the mean over.", nameof(meanTokens));
        }

        var mean = kind == AblationKind.Mean ? MeanZ(model, meanTokens!) : null;
        var perLayer = Enumerable.Range(0, c.NLayers).Select(l => kept.Where(h => h.Layer == l).Select(h => h.Head).Order().ToArray()).ToArray();
        var heads = Math.Max(1, perLayer.Length == 0 ? 1 : perLayer.Max(p => p.Length));
        var config = c with { NHeads = heads };
        var t = w.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);
        var map = new Dictionary<HeadId, HeadId>();
        for (var l = 0; l < c.NLayers; l++)
        {
            var b = w.Blocks[l];
            var p = $"blocks.{l}.attn.";
            var bO = t[p + "b_O"];
            foreach (var (name, source) in new[] { ("W_Q", b.W_Q), ("W_K", b.W_K), ("W_V", b.W_V), ("W_O", b.W_O), ("b_Q", b.b_Q), ("b_K", b.b_K), ("b_V", b.b_V) })
            {
                var shape = source.Shape.ToArray();
                shape[0] = heads;
                var target = new Tensor(shape);
                for (var i = 0; i < perLayer[l].Length; i++)
                {
                    source[perLayer[l][i]].Span.CopyTo(target[i].Span);
                }

                t[p + name] = target;
            }

            for (var i = 0; i < perLayer[l].Length; i++)
            {
                map[new HeadId(l, perLayer[l][i])] = new HeadId(l, i);
            }

            if (mean is not null)
            {
                var folded = bO.Span;
                for (var h = 0; h < c.NHeads; h++)
                {
                    if (Array.IndexOf(perLayer[l], h) >= 0)
                    {
                        continue;
                    }

                    var constant = Gemm.MatMul(mean[l][h].Reshape(1, c.DHead), b.W_O[h]).Span;
                    for (var m = 0; m < folded.Length; m++)
                    {
                        folded[m] += constant[m];
                    }
                }
            }
        }

        return new ExtractedCircuit(TransformerWeights.FromStateDict(config, t, "<extracted circuit>"), map);
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

    private static void RequireInModel(ModelConfig c, HeadId h)
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

/// <summary>A circuit extracted into its own model (see <see cref="Ablation.ExtractCircuit"/>).</summary>
/// <param name="Weights">The smaller model.</param>
/// <param name="HeadMap">Each kept head's id in the original model → its id in the smaller one.</param>
public sealed record ExtractedCircuit(TransformerWeights Weights, IReadOnlyDictionary<HeadId, HeadId> HeadMap);
