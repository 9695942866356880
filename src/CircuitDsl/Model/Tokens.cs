namespace CircuitDsl.Model;

/// <summary>Checks on batches of token sequences, shared by the forward pass, the losses and the command line.</summary>
public static class Tokens
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> with a specific message unless <paramref name="tokens"/> is a non-empty
    /// batch of non-empty, equal-length sequences of at most <c>n_ctx</c> ids in <c>[0, d_vocab)</c>.
    /// </summary>
    public static void Validate(int[][] tokens, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(config);
        if (tokens.Length == 0)
        {
            throw new ArgumentException("The batch has no sequences.", nameof(tokens));
        }

        var length = tokens[0]?.Length ?? 0;
        if (length == 0)
        {
            throw new ArgumentException("Sequence 0 is empty.", nameof(tokens));
        }

        if (length > config.NCtx)
        {
            throw new ArgumentException($"Sequences have {length} tokens; the model's context is n_ctx={config.NCtx}.", nameof(tokens));
        }

        for (var b = 0; b < tokens.Length; b++)
        {
            var seq = tokens[b];
            if (seq is null || seq.Length != length)
            {
                throw new ArgumentException(
                    $"Sequence {b} has {seq?.Length ?? 0} tokens; sequence 0 has {length} (sequences must have equal lengths).",
                    nameof(tokens));
            }

            for (var p = 0; p < seq.Length; p++)
            {
                if ((uint)seq[p] >= (uint)config.DVocab)
                {
                    throw new ArgumentException(
                        $"Token id {seq[p]} at sequence {b}, position {p} is outside the vocabulary [0, {config.DVocab}).",
                        nameof(tokens));
                }
            }
        }
    }
}
