namespace CircuitDsl.Model;

/// <summary>The TransformerLens names of the forward pass's hook points, in one place.</summary>
public static class HookNames
{
    /// <summary>Token embeddings <c>[batch, pos, d_model]</c>.</summary>
    public const string Embed = "hook_embed";

    /// <summary>Positional embeddings <c>[batch, pos, d_model]</c>.</summary>
    public const string PosEmbed = "hook_pos_embed";

    /// <summary>The residual stream before the final LayerNorm, normalised <c>[batch, pos, d_model]</c>.</summary>
    public const string FinalNormalized = "ln_final.hook_normalized";

    /// <summary>The residual stream entering block <paramref name="layer"/>.</summary>
    public static string ResidPre(int layer) => $"blocks.{layer}.hook_resid_pre";

    /// <summary>The residual stream after block <paramref name="layer"/>'s attention.</summary>
    public static string ResidMid(int layer) => $"blocks.{layer}.hook_resid_mid";

    /// <summary>The residual stream leaving block <paramref name="layer"/>.</summary>
    public static string ResidPost(int layer) => $"blocks.{layer}.hook_resid_post";

    /// <summary>The normalised input of block <paramref name="layer"/>'s attention.</summary>
    public static string Ln1Normalized(int layer) => $"blocks.{layer}.ln1.hook_normalized";

    /// <summary>The normalised input of block <paramref name="layer"/>'s MLP.</summary>
    public static string Ln2Normalized(int layer) => $"blocks.{layer}.ln2.hook_normalized";

    /// <summary>Queries <c>[batch, pos, n_heads, d_head]</c>.</summary>
    public static string Q(int layer) => $"blocks.{layer}.attn.hook_q";

    /// <summary>Keys <c>[batch, pos, n_heads, d_head]</c>.</summary>
    public static string K(int layer) => $"blocks.{layer}.attn.hook_k";

    /// <summary>Values <c>[batch, pos, n_heads, d_head]</c>.</summary>
    public static string V(int layer) => $"blocks.{layer}.attn.hook_v";

    /// <summary>Scaled, masked attention scores <c>[batch, n_heads, query_pos, key_pos]</c> (−∞ above the diagonal).</summary>
    public static string AttnScores(int layer) => $"blocks.{layer}.attn.hook_attn_scores";

    /// <summary>Attention patterns <c>[batch, n_heads, query_pos, key_pos]</c>.</summary>
    public static string Pattern(int layer) => $"blocks.{layer}.attn.hook_pattern";

    /// <summary>Pattern-weighted values <c>[batch, pos, n_heads, d_head]</c>.</summary>
    public static string Z(int layer) => $"blocks.{layer}.attn.hook_z";

    /// <summary>Each head's output <c>[batch, pos, n_heads, d_model]</c>; computed only when asked for.</summary>
    public static string Result(int layer) => $"blocks.{layer}.attn.hook_result";

    /// <summary>Attention output <c>[batch, pos, d_model]</c>: the sum of the head results plus <c>b_O</c>.</summary>
    public static string AttnOut(int layer) => $"blocks.{layer}.hook_attn_out";

    /// <summary>MLP pre-activations <c>[batch, pos, d_mlp]</c>.</summary>
    public static string MlpPre(int layer) => $"blocks.{layer}.mlp.hook_pre";

    /// <summary>MLP activations <c>[batch, pos, d_mlp]</c>.</summary>
    public static string MlpPost(int layer) => $"blocks.{layer}.mlp.hook_post";

    /// <summary>MLP output <c>[batch, pos, d_model]</c>.</summary>
    public static string MlpOut(int layer) => $"blocks.{layer}.hook_mlp_out";
}
