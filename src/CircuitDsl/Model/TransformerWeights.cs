using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>
/// The parameters of a TransformerLens-convention transformer, under TransformerLens's names and shapes.
/// This type is the one home of those names: <see cref="ExpectedTensors"/> lists them for a config, and
/// loading, saving and validation all go through it.
/// </summary>
public sealed class TransformerWeights
{
    private TransformerWeights(ModelConfig config, Tensor wE, Tensor wPos, Tensor wU, Tensor bU,
        Tensor? lnFinalW, Tensor? lnFinalB, IReadOnlyList<BlockWeights> blocks)
    {
        Config = config;
        W_E = wE;
        W_pos = wPos;
        W_U = wU;
        b_U = bU;
        LnFinalW = lnFinalW;
        LnFinalB = lnFinalB;
        Blocks = blocks;
    }

    /// <summary>The architecture these weights are for.</summary>
    public ModelConfig Config { get; }

    /// <summary>Token embedding <c>[d_vocab, d_model]</c> (<c>embed.W_E</c>).</summary>
    public Tensor W_E { get; }

    /// <summary>Positional embedding <c>[n_ctx, d_model]</c> (<c>pos_embed.W_pos</c>).</summary>
    public Tensor W_pos { get; }

    /// <summary>Unembedding <c>[d_model, d_vocab]</c> (<c>unembed.W_U</c>).</summary>
    public Tensor W_U { get; }

    /// <summary>Unembedding bias <c>[d_vocab]</c> (<c>unembed.b_U</c>).</summary>
    public Tensor b_U { get; }

    /// <summary>Final LayerNorm weight <c>[d_model]</c> (<c>ln_final.w</c>); null unless normalization is <c>LN</c>.</summary>
    public Tensor? LnFinalW { get; }

    /// <summary>Final LayerNorm bias <c>[d_model]</c> (<c>ln_final.b</c>); null unless normalization is <c>LN</c>.</summary>
    public Tensor? LnFinalB { get; }

    /// <summary>The blocks, layer 0 first.</summary>
    public IReadOnlyList<BlockWeights> Blocks { get; }

    /// <summary>
    /// Every tensor a model of this configuration has, by TransformerLens state-dict name, with its shape,
    /// in the order TransformerLens's <c>state_dict()</c> lists them.
    /// </summary>
    public static IReadOnlyList<(string Name, int[] Shape)> ExpectedTensors(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int dm = config.DModel, h = config.NHeads, dh = config.DHead;
        var list = new List<(string, int[])>
        {
            ("embed.W_E", [config.DVocab, dm]),
            ("pos_embed.W_pos", [config.NCtx, dm]),
        };
        for (var l = 0; l < config.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            if (config.HasLayerNormWeights)
            {
                list.Add((p + "ln1.w", [dm]));
                list.Add((p + "ln1.b", [dm]));
                if (config.HasMlp)
                {
                    list.Add((p + "ln2.w", [dm]));
                    list.Add((p + "ln2.b", [dm]));
                }
            }

            list.Add((p + "attn.W_Q", [h, dm, dh]));
            list.Add((p + "attn.W_O", [h, dh, dm]));
            list.Add((p + "attn.b_Q", [h, dh]));
            list.Add((p + "attn.b_O", [dm]));
            list.Add((p + "attn.W_K", [h, dm, dh]));
            list.Add((p + "attn.W_V", [h, dm, dh]));
            list.Add((p + "attn.b_K", [h, dh]));
            list.Add((p + "attn.b_V", [h, dh]));
            if (config.HasMlp)
            {
                var dMlp = config.DMlp ?? 0;
                list.Add((p + "mlp.W_in", [dm, dMlp]));
                list.Add((p + "mlp.b_in", [dMlp]));
                list.Add((p + "mlp.W_out", [dMlp, dm]));
                list.Add((p + "mlp.b_out", [dm]));
            }
        }

        if (config.HasLayerNormWeights)
        {
            list.Add(("ln_final.w", [dm]));
            list.Add(("ln_final.b", [dm]));
        }

        list.Add(("unembed.W_U", [dm, config.DVocab]));
        list.Add(("unembed.b_U", [config.DVocab]));
        return list;
    }

    /// <summary>
    /// Whether <paramref name="name"/> is a buffer TransformerLens keeps in its state dict that carries no
    /// learned parameter (the causal mask and its fill value); such entries are accepted and ignored.
    /// </summary>
    public static bool IsIgnoredBuffer(string name) =>
        name.EndsWith(".attn.mask", StringComparison.Ordinal) || name.EndsWith(".attn.IGNORE", StringComparison.Ordinal);

    /// <summary>
    /// Builds weights from a state dict, checking that every expected tensor is present with the right shape
    /// and that nothing unexpected is there. <paramref name="source"/> names the file in error messages.
    /// </summary>
    /// <exception cref="WeightsFormatException">A tensor is missing, extra, or of the wrong shape, or the config is invalid.</exception>
    public static TransformerWeights FromStateDict(ModelConfig config, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        var problems = config.Problems();
        if (problems.Count > 0)
        {
            throw new WeightsFormatException(source, null, "invalid config: " + string.Join(" ", problems));
        }

        var expected = ExpectedTensors(config);
        var expectedNames = new HashSet<string>(expected.Select(e => e.Name), StringComparer.Ordinal);
        foreach (var name in tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (!expectedNames.Contains(name) && !IsIgnoredBuffer(name))
            {
                throw new WeightsFormatException(source, name,
                    $"unexpected tensor for a model with {Describe(config)}.");
            }
        }

        foreach (var (name, shape) in expected)
        {
            if (!tensors.TryGetValue(name, out var t))
            {
                throw new WeightsFormatException(source, name, $"missing (a model with {Describe(config)} needs it).");
            }

            if (!t.HasShape(shape))
            {
                throw new WeightsFormatException(source, name,
                    $"shape {Tensor.FormatShape(t.Shape)} does not match the config, which needs {Tensor.FormatShape(shape)}.");
            }
        }

        Tensor Get(string name) => tensors[name];
        Tensor? Maybe(string name) => tensors.TryGetValue(name, out var t) ? t : null;
        var blocks = new BlockWeights[config.NLayers];
        for (var l = 0; l < config.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            blocks[l] = new BlockWeights
            {
                W_Q = Get(p + "attn.W_Q"), W_K = Get(p + "attn.W_K"), W_V = Get(p + "attn.W_V"), W_O = Get(p + "attn.W_O"),
                b_Q = Get(p + "attn.b_Q"), b_K = Get(p + "attn.b_K"), b_V = Get(p + "attn.b_V"), b_O = Get(p + "attn.b_O"),
                Ln1W = Maybe(p + "ln1.w"), Ln1B = Maybe(p + "ln1.b"), Ln2W = Maybe(p + "ln2.w"), Ln2B = Maybe(p + "ln2.b"),
                W_in = Maybe(p + "mlp.W_in"), b_in = Maybe(p + "mlp.b_in"),
                W_out = Maybe(p + "mlp.W_out"), b_out = Maybe(p + "mlp.b_out"),
            };
        }

        return new TransformerWeights(config, Get("embed.W_E"), Get("pos_embed.W_pos"), Get("unembed.W_U"),
            Get("unembed.b_U"), Maybe("ln_final.w"), Maybe("ln_final.b"), blocks);
    }

    /// <summary>Zero-filled weights for <paramref name="config"/> (LayerNorm weights are ones), to be filled in.</summary>
    public static TransformerWeights Zeros(ModelConfig config)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in ExpectedTensors(config))
        {
            var t = new Tensor(shape);
            if (name.EndsWith("ln1.w", StringComparison.Ordinal) || name.EndsWith("ln2.w", StringComparison.Ordinal)
                || name == "ln_final.w")
            {
                t.Span.Fill(1f);
            }

            tensors[name] = t;
        }

        return FromStateDict(config, tensors, "<zeros>");
    }

    /// <summary>The state dict: every tensor under its TransformerLens name, in <see cref="ExpectedTensors"/> order.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> ToStateDict()
    {
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, _) in ExpectedTensors(Config))
        {
            result.Add(new(name, Find(name)));
        }

        return result;
    }

    private Tensor Find(string name)
    {
        switch (name)
        {
            case "embed.W_E": return W_E;
            case "pos_embed.W_pos": return W_pos;
            case "unembed.W_U": return W_U;
            case "unembed.b_U": return b_U;
            case "ln_final.w": return LnFinalW!;
            case "ln_final.b": return LnFinalB!;
        }

        // blocks.{l}.{module}.{param}
        var parts = name.Split('.');
        var b = Blocks[int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)];
        return (parts[2] + "." + parts[3]) switch
        {
            "attn.W_Q" => b.W_Q, "attn.W_K" => b.W_K, "attn.W_V" => b.W_V, "attn.W_O" => b.W_O,
            "attn.b_Q" => b.b_Q, "attn.b_K" => b.b_K, "attn.b_V" => b.b_V, "attn.b_O" => b.b_O,
            "ln1.w" => b.Ln1W!, "ln1.b" => b.Ln1B!, "ln2.w" => b.Ln2W!, "ln2.b" => b.Ln2B!,
            "mlp.W_in" => b.W_in!, "mlp.b_in" => b.b_in!, "mlp.W_out" => b.W_out!, "mlp.b_out" => b.b_out!,
            _ => throw new InvalidOperationException($"No tensor is named '{name}'."),
        };
    }

    private static string Describe(ModelConfig c) =>
        $"n_layers={c.NLayers}, n_heads={c.NHeads}, d_model={c.DModel}, d_head={c.DHead}, d_vocab={c.DVocab}, n_ctx={c.NCtx}"
        + (c.AttnOnly ? ", attn_only" : $", d_mlp={c.DMlp}") + $", normalization_type={c.NormalizationType.ToConfigValue() ?? "None"}";
}

/// <summary>The parameters of one transformer block, under TransformerLens's names.</summary>
public sealed class BlockWeights
{
    /// <summary>Query weights <c>[n_heads, d_model, d_head]</c>.</summary>
    public required Tensor W_Q { get; init; }

    /// <summary>Key weights <c>[n_heads, d_model, d_head]</c>.</summary>
    public required Tensor W_K { get; init; }

    /// <summary>Value weights <c>[n_heads, d_model, d_head]</c>.</summary>
    public required Tensor W_V { get; init; }

    /// <summary>Output weights <c>[n_heads, d_head, d_model]</c>.</summary>
    public required Tensor W_O { get; init; }

    /// <summary>Query bias <c>[n_heads, d_head]</c>.</summary>
    public required Tensor b_Q { get; init; }

    /// <summary>Key bias <c>[n_heads, d_head]</c>.</summary>
    public required Tensor b_K { get; init; }

    /// <summary>Value bias <c>[n_heads, d_head]</c>.</summary>
    public required Tensor b_V { get; init; }

    /// <summary>Output bias <c>[d_model]</c>, shared by the heads.</summary>
    public required Tensor b_O { get; init; }

    /// <summary>Pre-attention LayerNorm weight <c>[d_model]</c>, when normalization is <c>LN</c>.</summary>
    public Tensor? Ln1W { get; init; }

    /// <summary>Pre-attention LayerNorm bias <c>[d_model]</c>, when normalization is <c>LN</c>.</summary>
    public Tensor? Ln1B { get; init; }

    /// <summary>Pre-MLP LayerNorm weight <c>[d_model]</c>, when normalization is <c>LN</c> and there is an MLP.</summary>
    public Tensor? Ln2W { get; init; }

    /// <summary>Pre-MLP LayerNorm bias <c>[d_model]</c>, when normalization is <c>LN</c> and there is an MLP.</summary>
    public Tensor? Ln2B { get; init; }

    /// <summary>MLP input weights <c>[d_model, d_mlp]</c>.</summary>
    public Tensor? W_in { get; init; }

    /// <summary>MLP input bias <c>[d_mlp]</c>.</summary>
    public Tensor? b_in { get; init; }

    /// <summary>MLP output weights <c>[d_mlp, d_model]</c>.</summary>
    public Tensor? W_out { get; init; }

    /// <summary>MLP output bias <c>[d_model]</c>.</summary>
    public Tensor? b_out { get; init; }
}
