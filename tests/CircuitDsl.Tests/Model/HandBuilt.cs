using CircuitDsl.Model;

namespace CircuitDsl.Tests.Model;

/// <summary>Weights built by hand so that the right answer is known in closed form.</summary>
internal static class HandBuilt
{
    /// <summary>
    /// A one-layer, one-head, attention-only model whose head attends to the previous token and copies it.
    /// The residual stream has three blocks: token one-hots [0, vocab), position one-hots [vocab, vocab+ctx) and an
    /// output block [vocab+ctx, 2·vocab+ctx). The query of position i matches the key of position i − 1 with
    /// score 40 (the softmax is one-hot to within e^−40); the OV circuit copies the attended token's one-hot into
    /// the output block, which the unembedding reads with weight <paramref name="logitScale"/>. So the logits at
    /// position i are <c>logitScale · onehot(t[i−1])</c> (position 0 copies its own token).
    /// </summary>
    public static TransformerWeights PreviousTokenCopier(int vocab, int ctx, float logitScale)
    {
        var dModel = (2 * vocab) + ctx;
        var dHead = Math.Max(vocab, ctx);
        var config = new ModelConfig
        {
            NLayers = 1, NHeads = 1, DModel = dModel, DHead = dHead, DVocab = vocab, NCtx = ctx,
            AttnOnly = true, PositionalEmbeddingType = PositionalEmbedding.Standard,
        };
        var w = TransformerWeights.Zeros(config);
        for (var t = 0; t < vocab; t++)
        {
            w.W_E[t, t] = 1f;
        }

        for (var p = 0; p < ctx; p++)
        {
            w.W_pos[p, vocab + p] = 1f;
        }

        var block = w.Blocks[0];
        var scale = 40f * MathF.Sqrt(dHead);
        for (var p = 0; p < ctx; p++)
        {
            block.W_Q[0, vocab + p, p] = scale;
            if (p + 1 < ctx)
            {
                block.W_K[0, vocab + p, p + 1] = 1f;
            }
        }

        for (var t = 0; t < vocab; t++)
        {
            block.W_V[0, t, t] = 1f;
            block.W_O[0, t, vocab + ctx + t] = 1f;
            w.W_U[vocab + ctx + t, t] = logitScale;
        }

        return w;
    }

    /// <summary>
    /// A one-layer, one-head, attention-only model without LayerNorm whose head attends to earlier copies of the current
    /// token. The residual stream is token one-hots [0, vocab) and position one-hots [vocab, vocab+ctx); the query and key
    /// read both, so after the 1/sqrt(d_head) scale the attention logit of query i on key j ≤ i is
    /// <c>sameTokenLogit · ([t_i = t_j] − [i = j])</c>: <paramref name="sameTokenLogit"/> on each earlier copy, 0 on itself
    /// (its own token cancelled by its own position) and 0 on every other key. OV, unembedding and biases are zero: only
    /// the pattern matters.
    /// </summary>
    public static TransformerWeights DuplicateTokenHead(int vocab, int ctx, float sameTokenLogit)
    {
        var dHead = vocab + ctx;
        var config = new ModelConfig
        {
            NLayers = 1, NHeads = 1, DModel = vocab + ctx, DHead = dHead, DVocab = vocab, NCtx = ctx,
            AttnOnly = true, PositionalEmbeddingType = PositionalEmbedding.Standard,
        };
        var w = TransformerWeights.Zeros(config);
        var block = w.Blocks[0];
        var scale = sameTokenLogit * MathF.Sqrt(dHead);
        for (var t = 0; t < vocab; t++)
        {
            w.W_E[t, t] = 1f;
            block.W_Q[0, t, t] = scale;
            block.W_K[0, t, t] = 1f;
        }

        for (var p = 0; p < ctx; p++)
        {
            w.W_pos[p, vocab + p] = 1f;
            block.W_Q[0, vocab + p, vocab + p] = -scale;
            block.W_K[0, vocab + p, vocab + p] = 1f;
        }

        return w;
    }
}
