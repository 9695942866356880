using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// What the interactive view (<c>circuitdsl view</c>) shows of one token sequence: every head's attention pattern,
/// the logit lens at every layer and position, and each head's direct logit attribution to the next token — all read
/// from one model, so the page only draws them.
/// </summary>
/// <param name="Tokens">The sequence.</param>
/// <param name="Patterns">Every head's pattern <c>[n_layers, n_heads, query_pos, key_pos]</c>.</param>
/// <param name="LensLabels">The logit lens's residual streams: <c>0_pre</c>, <c>1_pre</c>, …, <c>final_post</c>.</param>
/// <param name="LensTop">The most likely token under each lens layer's logits <c>[lens layer, pos]</c>.</param>
/// <param name="LensLogProb">The log-probability of the actual next token under each lens layer <c>[lens layer, pos − 1]</c>.</param>
/// <param name="HeadAttribution">Each head's direct logit attribution to the actual next token <c>[n_layers, n_heads, pos − 1]</c>.</param>
public sealed record Exploration(
    int[] Tokens, Tensor Patterns, IReadOnlyList<string> LensLabels, int[,] LensTop, Tensor LensLogProb, Tensor HeadAttribution)
{
    /// <summary>Runs <paramref name="weights"/> on <paramref name="tokens"/> and gathers what the view shows.</summary>
    /// <exception cref="ArgumentException">The sequence does not fit the model, or has fewer than two tokens (nothing is predicted).</exception>
    public static Exploration Compute(TransformerWeights weights, int[] tokens)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokens);
        var c = weights.Config;
        int[][] batch = [tokens];
        Model.Tokens.Validate(batch, c);
        if (tokens.Length < 2)
        {
            throw new ArgumentException("The sequence has one token, so nothing is predicted: the view needs at least two.", nameof(tokens));
        }

        int n = tokens.Length, layers = c.NLayers, heads = c.NHeads;
        var decomposition = ResidualDecomposition.Compute(weights, batch, cachePatterns: true);
        var patterns = new Tensor(layers, heads, n, n);
        for (var l = 0; l < layers; l++)
        {
            decomposition.Pattern(l).Span.CopyTo(patterns[l].Span);
        }

        var lens = decomposition.LogitLens();
        var top = new int[lens.Count, n];
        var logProb = new Tensor(lens.Count, n - 1);
        for (var i = 0; i < lens.Count; i++)
        {
            for (var p = 0; p < n; p++)
            {
                top[i, p] = ArgMax(lens[i].Logits[0][p].Span);
                if (p < n - 1)
                {
                    logProb[i, p] = -lens[i].Loss[0, p];
                }
            }
        }

        var attribution = decomposition.Attribute().Heads;
        var perHead = new Tensor(layers, heads, n - 1);
        for (var l = 0; l < layers; l++)
        {
            for (var h = 0; h < heads; h++)
            {
                attribution[l][h][0].Span.CopyTo(perHead[l][h].Span);
            }
        }

        return new Exploration(tokens, patterns, [.. lens.Select(l => l.Label)], top, logProb, perHead);
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
