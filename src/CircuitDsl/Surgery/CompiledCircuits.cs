using CircuitDsl.Model;

namespace CircuitDsl.Surgery;

/// <summary>
/// Claims compiled into weights, by hand and with no training (the direction Tracr takes): models built so that a
/// circuit spec's hypotheses hold by construction, to be checked by the same hypotheses that check trained models
/// (docs/guide.md, "Compiling claims into weights").
/// </summary>
public static class CompiledCircuits
{
    /// <summary>The default <c>sharpness</c> of <see cref="Induction"/>: attention logits of 20 leave e⁻²⁰ for the other keys.</summary>
    public const double DefaultSharpness = 20;

    /// <summary>
    /// The induction circuit as weights: an attention-only model without LayerNorm, standard positions, whose
    /// residual stream is four one-hot blocks side by side — the current token (<c>d_vocab</c> dims), the position
    /// (<c>n_ctx</c>), the previous token (<c>d_vocab</c>) and the prediction (<c>d_vocab</c>); <c>d_head</c> is
    /// <c>max(d_vocab + 1, n_ctx)</c>. <paramref name="previousToken"/> attends from position <c>i</c> to <c>i − 1</c> (its
    /// query is position <c>i</c>, its key position <c>j + 1</c>) and writes the attended token into the previous-token
    /// block. <paramref name="induction"/> matches its query, the current token, against keys read from that block
    /// (K-composition), so it attends to the position after an earlier copy of the current token, and writes that
    /// position's token into the prediction block, which <c>W_U</c> reads with weight <paramref name="copyLogit"/>
    /// (copying). Attention logits, after the <c>1/√d_head</c> scaling, are <paramref name="sharpness"/> on a match and
    /// 0 otherwise. Position 0, where the previous-token head can only attend to itself, is no induction key: a query
    /// bias on one spare <c>d_head</c> dimension meets a key of −1 there, costing it <paramref name="sharpness"/> (biases
    /// are not in <c>W_QK</c>, so the composition scores see only the token match). Every other head is zero; the model has <paramref name="heads"/> heads per layer and
    /// <c>induction.Layer + 1</c> layers.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The induction head is not in a later layer than the previous-token head, a head index is not below
    /// <paramref name="heads"/>, or a size or scale is not positive.
    /// </exception>
    public static TransformerWeights Induction(int vocab, int context, HeadId previousToken, HeadId induction, int heads = 1,
        double sharpness = DefaultSharpness, double copyLogit = 10)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocab);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(context);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        if (!(sharpness > 0) || !(copyLogit > 0))
        {
            throw new ArgumentException("The sharpness and the copy logit must be positive.", nameof(sharpness));
        }

        if (previousToken.Layer < 0 || previousToken.Layer >= induction.Layer)
        {
            throw new ArgumentException(
                $"The induction head {induction} must be in a later layer than the previous-token head {previousToken}, to read what it wrote.",
                nameof(induction));
        }

        if (previousToken.Head < 0 || previousToken.Head >= heads || induction.Head < 0 || induction.Head >= heads)
        {
            throw new ArgumentException($"Head indices must be below the {heads} heads per layer.", nameof(heads));
        }

        int spare = vocab, dHead = Math.Max(vocab + 1, context), token = 0, position = vocab, previous = vocab + context, prediction = (2 * vocab) + context;
        var config = new ModelConfig
        {
            NLayers = induction.Layer + 1, NHeads = heads, DModel = (3 * vocab) + context, DHead = dHead, DVocab = vocab,
            NCtx = context, AttnOnly = true, NormalizationType = Normalization.None, PositionalEmbeddingType = PositionalEmbedding.Standard,
        };
        var w = TransformerWeights.Zeros(config);
        var match = (float)(sharpness * Math.Sqrt(dHead));
        for (var t = 0; t < vocab; t++)
        {
            w.W_E[t, token + t] = 1;
            w.W_U[prediction + t, t] = (float)copyLogit;
        }

        for (var p = 0; p < context; p++)
        {
            w.W_pos[p, position + p] = 1;
        }

        var prev = w.Blocks[previousToken.Layer];
        for (var p = 0; p < context; p++)
        {
            prev.W_Q[previousToken.Head, position + p, p] = match;
            if (p + 1 < context)
            {
                prev.W_K[previousToken.Head, position + p, p + 1] = 1;
            }
        }

        var ind = w.Blocks[induction.Layer];
        ind.b_Q[induction.Head, spare] = match;
        ind.W_K[induction.Head, position, spare] = -1;
        for (var t = 0; t < vocab; t++)
        {
            prev.W_V[previousToken.Head, token + t, t] = 1;
            prev.W_O[previousToken.Head, t, previous + t] = 1;
            ind.W_Q[induction.Head, token + t, t] = match;
            ind.W_K[induction.Head, previous + t, t] = 1;
            ind.W_V[induction.Head, token + t, t] = 1;
            ind.W_O[induction.Head, t, prediction + t] = 1;
        }

        return w;
    }
}
