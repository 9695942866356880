using CircuitDsl.Model;

namespace CircuitDsl.Benchmarks;

/// <summary>The models and inputs of the benchmarks; tests/benchmarks/bench_torch.py builds the same inputs.</summary>
internal static class Shapes
{
    /// <summary>
    /// TransformerLens's attn-only-2l: 2 layers of 8 heads × 64, d_model 512, the 48,262-token vocabulary,
    /// n_ctx 1024, shortformer positions, attention only. Its config.json says <c>normalization: LN</c>; TL loads
    /// it as LN and folds it to LNPre by default. The as-trained LN model is benchmarked.
    /// </summary>
    public static ModelConfig AttnOnly2L { get; } = new()
    {
        NLayers = 2, NHeads = 8, DModel = 512, DHead = 64, DVocab = 48262, NCtx = 1024, AttnOnly = true,
        NormalizationType = Normalization.LN, PositionalEmbeddingType = PositionalEmbedding.Shortformer,
    };

    /// <summary>A GPT-2-small-sized attention stack (12 × 12 heads, d_model 768, d_head 64, d_vocab 50,257).</summary>
    public static ModelConfig Stack12 { get; } = new()
    {
        NLayers = 12, NHeads = 12, DModel = 768, DHead = 64, DVocab = 50257, NCtx = 64, AttnOnly = true,
        NormalizationType = Normalization.LN,
    };

    /// <summary>The training recipe's model: 2 layers × 4 heads, d_model 64, vocab 64, n_ctx 64, LN.</summary>
    public static ModelConfig Induction { get; } = new()
    {
        NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true, NormalizationType = Normalization.LN,
    };

    public const int TrainingSeed = 0;

    /// <summary>
    /// <paramref name="rows"/> sequences of <paramref name="length"/> tokens from a 64-bit LCG (Knuth's MMIX
    /// constants), token = (state &gt;&gt; 33) mod vocab; Python reproduces it exactly.
    /// </summary>
    public static int[][] Tokens(int rows, int length, int vocab, ulong seed)
    {
        var state = seed;
        var result = new int[rows][];
        for (var r = 0; r < rows; r++)
        {
            result[r] = new int[length];
            for (var p = 0; p < length; p++)
            {
                state = unchecked((state * 6364136223846793005UL) + 1442695040888963407UL);
                result[r][p] = (int)((state >> 33) % (ulong)vocab);
            }
        }

        return result;
    }

    /// <summary>The forward pass's input: 4 × 1024 tokens.</summary>
    public static int[][] ForwardTokens() => Tokens(4, 1024, AttnOnly2L.DVocab, 1);

    /// <summary>The detection batch: 8 sequences <c>h + h</c>, h = 256 LCG tokens (512 tokens each).</summary>
    public static int[][] DetectionTokens() =>
        Tokens(8, 256, AttnOnly2L.DVocab, 2).Select(h => h.Concat(h).ToArray()).ToArray();
}
