using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Surgery;

/// <summary>
/// A circuit carved out of a model into a standalone, smaller model (docs/mix-and-match.md, "Extraction"): the heads
/// and MLPs outside the circuit are removed and their mean output is folded into the biases, so the smaller model
/// computes exactly what the full model computes with them mean-ablated.
/// </summary>
public static class Extraction
{
    /// <summary>
    /// The circuit as a smaller model: each layer keeps only <paramref name="circuit"/>'s heads, packed into the first
    /// slots (n_heads becomes the most any layer keeps; a layer keeping fewer gets inert zero heads), and each dropped
    /// head's constant ablated output (<c>mean z · W_O</c>, or nothing for zero ablation) is folded into <c>b_O</c>.
    /// With <paramref name="mlps"/> given, the MLPs of the other layers are removed too (their weights zeroed) and
    /// their constant ablated output (the mean <c>hook_mlp_out</c>, or nothing) becomes their <c>b_out</c>; null keeps
    /// every MLP. Its logits equal the full model's with the rest ablated. <see cref="ExtractedCircuit.HeadMap"/> says
    /// where each head went.
    /// </summary>
    /// <exception cref="ArgumentException">A head or MLP is outside the model, or mean ablation lacks its tokens.</exception>
    public static ExtractedCircuit ExtractCircuit(HookedTransformer model, IEnumerable<HeadId> circuit, AblationKind kind,
        int[][]? meanTokens = null, IEnumerable<int>? mlps = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(circuit);
        var heads = Checked(model.Config, circuit, mlps, out var keptMlps);
        if (kind == AblationKind.Mean && meanTokens is null)
        {
            throw new ArgumentException("Mean ablation needs reference tokens to take the mean over.", nameof(meanTokens));
        }

        var means = kind == AblationKind.Mean ? Means.Of(model, meanTokens!) : null;
        return Build(model.Weights, heads, keptMlps, means);
    }

    /// <summary>
    /// Extracts <paramref name="circuit"/> (and, when given, the MLPs of <paramref name="mlps"/>; null keeps every MLP)
    /// with mean ablation over every sequence and position of <paramref name="tokens"/>, and measures it on the same
    /// tokens: the full model's loss, the extracted model's, the loss with everything the extraction could remove
    /// mean-ablated (every head, and every MLP when <paramref name="mlps"/> is given), and the fraction of loss
    /// recovered from them (docs/math.md, "Ablation and faithfulness").
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A head or MLP is outside the model or listed twice, or the tokens do not fit the model.
    /// </exception>
    public static Extracted Extract(HookedTransformer model, IReadOnlyCollection<HeadId> circuit, IReadOnlyCollection<int>? mlps,
        int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(circuit);
        ArgumentNullException.ThrowIfNull(tokens);
        RefuseRepeats(circuit, "head");
        if (mlps is not null)
        {
            RefuseRepeats(mlps, "MLP");
        }

        var c = model.Config;
        Tokens.Validate(tokens, c);
        var heads = Checked(c, circuit, mlps, out var keptMlps);
        var means = Means.Of(model, tokens);
        var extracted = Build(model.Weights, heads, keptMlps, means);

        var everything = Ablation.Hooks(c, Ablation.AllHeads(c), AblationKind.Mean, means.Z);
        if (mlps is not null)
        {
            Ablation.MlpHooks(c, Enumerable.Range(0, c.NLayers), means.MlpOut, everything);
        }

        var full = Ablation.Loss(model, tokens);
        var ablated = Ablation.Loss(model, tokens, everything);
        var loss = Ablation.Loss(new HookedTransformer(extracted.Weights), tokens);
        var denominator = ablated - full;
        var fraction = Math.Abs(denominator) < 1e-12 ? double.NaN : (ablated - loss) / denominator;
        return new Extracted(extracted, keptMlps, new LossRecovered(full, loss, ablated, fraction));
    }

    /// <summary>The heads in the model, in order, and the MLPs kept (every MLP when <paramref name="mlps"/> is null).</summary>
    private static List<HeadId> Checked(ModelConfig c, IEnumerable<HeadId> circuit, IEnumerable<int>? mlps, out int[] keptMlps)
    {
        var heads = circuit.Distinct().ToList();
        foreach (var h in heads)
        {
            Ablation.RequireInModel(c, h);
        }

        if (mlps is null)
        {
            keptMlps = c.HasMlp ? [.. Enumerable.Range(0, c.NLayers)] : [];
        }
        else
        {
            keptMlps = [.. mlps.Distinct().Order()];
            foreach (var layer in keptMlps)
            {
                Ablation.RequireMlp(c, layer);
            }
        }

        return heads;
    }

    private static void RefuseRepeats<T>(IEnumerable<T> items, string what)
    {
        if (items.GroupBy(i => i).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            throw new ArgumentException($"{what} {repeated.Key} is listed twice.", nameof(items));
        }
    }

    private static ExtractedCircuit Build(TransformerWeights w, List<HeadId> kept, int[] keptMlps, Means? means)
    {
        var c = w.Config;
        var perLayer = Enumerable.Range(0, c.NLayers).Select(l => kept.Where(h => h.Layer == l).Select(h => h.Head).Order().ToArray()).ToArray();
        var heads = Math.Max(1, perLayer.Length == 0 ? 1 : perLayer.Max(p => p.Length));
        var config = c with { NHeads = heads };
        var t = w.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);
        var map = new Dictionary<HeadId, HeadId>();
        for (var l = 0; l < c.NLayers; l++)
        {
            var b = w.Blocks[l];
            var p = $"blocks.{l}.";
            foreach (var (name, source) in new[] { ("W_Q", b.W_Q), ("W_K", b.W_K), ("W_V", b.W_V), ("W_O", b.W_O), ("b_Q", b.b_Q), ("b_K", b.b_K), ("b_V", b.b_V) })
            {
                var shape = source.Shape.ToArray();
                shape[0] = heads;
                var target = new Tensor(shape);
                for (var i = 0; i < perLayer[l].Length; i++)
                {
                    source[perLayer[l][i]].Span.CopyTo(target[i].Span);
                }

                t[p + "attn." + name] = target;
            }

            for (var i = 0; i < perLayer[l].Length; i++)
            {
                map[new HeadId(l, perLayer[l][i])] = new HeadId(l, i);
            }

            if (means is not null)
            {
                var folded = t[p + "attn.b_O"].Span;
                for (var h = 0; h < c.NHeads; h++)
                {
                    if (Array.IndexOf(perLayer[l], h) < 0)
                    {
                        Add(folded, Gemm.MatMul(means.Z[l][h].Reshape(1, c.DHead), b.W_O[h]).Span);
                    }
                }
            }

            if (c.HasMlp && Array.IndexOf(keptMlps, l) < 0)
            {
                // A removed MLP writes a constant: zero weights, and its mean output (or nothing) as b_out.
                foreach (var name in new[] { "mlp.W_in", "mlp.b_in", "mlp.W_out", "mlp.b_out" })
                {
                    t[p + name].Span.Clear();
                }

                if (means is not null)
                {
                    means.MlpOut[l].Span.CopyTo(t[p + "mlp.b_out"].Span);
                }
            }
        }

        return new ExtractedCircuit(TransformerWeights.FromStateDict(config, t, "<extracted circuit>"), map);
    }

    private static void Add(Span<float> into, ReadOnlySpan<float> value)
    {
        for (var m = 0; m < into.Length; m++)
        {
            into[m] += value[m];
        }
    }

    /// <summary>The mean <c>z</c> of every head and the mean output of every MLP over one batch.</summary>
    private sealed record Means(Tensor[] Z, Tensor[] MlpOut)
    {
        public static Means Of(HookedTransformer model, int[][] tokens) =>
            new(Ablation.MeanZ(model, tokens), Ablation.MeanMlpOut(model, tokens));
    }
}

/// <summary>A circuit extracted into its own model (see <see cref="Extraction.ExtractCircuit"/>).</summary>
/// <param name="Weights">The smaller model.</param>
/// <param name="HeadMap">Each kept head's id in the original model → its id in the smaller one.</param>
public sealed record ExtractedCircuit(TransformerWeights Weights, IReadOnlyDictionary<HeadId, HeadId> HeadMap);

/// <summary>What <see cref="Extraction.Extract"/> made and measured.</summary>
/// <param name="Circuit">The extracted model and where each kept head went.</param>
/// <param name="Mlps">The layers whose MLP was kept, in order.</param>
/// <param name="Losses">
/// On the extraction's tokens: the full model's loss, the extracted model's (<see cref="LossRecovered.Circuit"/>), the
/// loss with everything removable mean-ablated, and the fraction of loss recovered (the faithfulness).
/// </param>
public sealed record Extracted(ExtractedCircuit Circuit, IReadOnlyList<int> Mlps, LossRecovered Losses);
