using System.Globalization;
using System.Text.Json;
using CircuitDsl.Model;

namespace CircuitDsl.Weights;

/// <summary>
/// A Hugging Face GPT-2 checkpoint (<c>config.json</c> with <c>model_type: gpt2</c>; <c>model.safetensors</c> or
/// <c>pytorch_model.bin</c> under <c>GPT2LMHeadModel</c>'s names) read as TransformerLens weights, converting as
/// TransformerLens's GPT-2 loader does: the fused <c>c_attn</c> is split into <c>W_Q, W_K, W_V</c> per head, the Conv1D
/// weights (stored <c>[in, out]</c>) keep their layout, <c>c_proj</c> becomes <c>W_O</c> per head, the unembedding is
/// <c>lm_head.weight</c> transposed (tied to <c>wte</c> when absent) with a zero <c>b_U</c>.
/// </summary>
/// <remarks>
/// Only the copies the conversion needs are made (<c>W_Q, W_K, W_V</c>, and <c>W_U</c> from an untied <c>lm_head</c>);
/// a tied <c>W_U</c> is computed from <c>wte</c> on first read (<see cref="Tensors.TransposedMatrix"/>); every other
/// tensor is a view of what the file gave, and the mapped pages of what was copied are released, so a converted model
/// holds about the file's size plus those copies. Refused: other model types, configs this runtime cannot run (a LayerNorm epsilon other than
/// 1e-5, attention scaled by layer index, cross-attention), and every missing, extra or wrongly shaped tensor.
/// </remarks>
internal static class Gpt2Checkpoint
{
    /// <summary>The PyTorch weights file of a Hugging Face folder.</summary>
    public const string PytorchFileName = "pytorch_model.bin";

    /// <summary>The only LayerNorm epsilon the runtime's kernels use.</summary>
    private const double Epsilon = 1e-5;

    private static readonly string[] Required = ["n_embd", "n_head", "n_layer", "vocab_size"];

    /// <summary>
    /// Whether <paramref name="name"/> is a buffer GPT-2 checkpoints keep that carries no learned parameter (the causal
    /// mask <c>attn.bias</c> and <c>attn.masked_bias</c>); such entries are not loaded.
    /// </summary>
    public static bool IsIgnoredBuffer(string name) =>
        name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal);

    /// <summary>The TransformerLens config of a Hugging Face GPT-2 <c>config.json</c> whose root is <paramref name="root"/>.</summary>
    /// <exception cref="WeightsFormatException">Not GPT-2, a size missing or out of range, or a feature the runtime lacks.</exception>
    public static ModelConfig ReadConfig(JsonElement root, string path)
    {
        var modelType = root.GetProperty("model_type");
        if (modelType.ValueKind != JsonValueKind.String || modelType.GetString() != "gpt2")
        {
            throw new WeightsFormatException(path, null,
                $"model_type {modelType.GetRawText()} is not supported: of Hugging Face folders, only GPT-2 (\"model_type\": \"gpt2\") loads directly.");
        }

        foreach (var name in Required)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                throw new WeightsFormatException(path, null, $"invalid GPT-2 config: required field '{name}' is missing or null.");
            }
        }

        int dModel = Size(root, "n_embd", path), heads = Size(root, "n_head", path), vocab = Size(root, "vocab_size", path);
        var layers = Int(root, "n_layer", path) ?? 0;
        if (layers < 0)
        {
            throw new WeightsFormatException(path, null, $"invalid GPT-2 config: n_layer must not be negative (got {layers}).");
        }

        var context = root.TryGetProperty("n_positions", out var p) && p.ValueKind != JsonValueKind.Null
            ? Size(root, "n_positions", path)
            : root.TryGetProperty("n_ctx", out _) ? Size(root, "n_ctx", path)
            : throw new WeightsFormatException(path, null, "invalid GPT-2 config: n_positions (or n_ctx) is missing.");
        if (dModel % heads != 0)
        {
            throw new WeightsFormatException(path, null, $"invalid GPT-2 config: n_embd {dModel} is not a multiple of n_head {heads}.");
        }

        var inner = root.TryGetProperty("n_inner", out var n) && n.ValueKind != JsonValueKind.Null ? Size(root, "n_inner", path) : 4L * dModel;
        if (inner > int.MaxValue)
        {
            throw new WeightsFormatException(path, null, $"invalid GPT-2 config: the MLP width 4 × n_embd = {inner} is too large.");
        }

        var activation = String(root, "activation_function", path) ?? "gelu_new";
        var actFn = activation switch
        {
            "gelu_new" => ActivationFunction.GeluNew,
            "gelu" => ActivationFunction.Gelu,
            "relu" => ActivationFunction.Relu,
            _ => throw new WeightsFormatException(path, null,
                $"activation_function '{activation}' is not supported (gelu_new, gelu or relu)."),
        };
        var epsilon = !root.TryGetProperty("layer_norm_epsilon", out var e) || e.ValueKind == JsonValueKind.Null ? Epsilon
            : e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var eps) ? eps
            : throw new WeightsFormatException(path, null, "invalid GPT-2 config: layer_norm_epsilon must be a number.");
        if (Math.Abs(epsilon - Epsilon) > 1e-12)
        {
            throw new WeightsFormatException(path, null,
                string.Create(CultureInfo.InvariantCulture, $"layer_norm_epsilon {epsilon} is not supported: the runtime's LayerNorm uses 1e-5."));
        }

        if (Bool(root, "scale_attn_by_inverse_layer_idx", path) || Bool(root, "add_cross_attention", path)
            || (root.TryGetProperty("scale_attn_weights", out var s) && s.ValueKind == JsonValueKind.False))
        {
            throw new WeightsFormatException(path, null,
                "scale_attn_by_inverse_layer_idx, add_cross_attention and scale_attn_weights=false are not supported: "
                + "the runtime's attention divides by sqrt(d_head) in every layer.");
        }

        var config = new ModelConfig
        {
            NLayers = layers,
            NHeads = heads,
            DModel = dModel,
            DHead = dModel / heads,
            DVocab = vocab,
            NCtx = context,
            DMlp = (int)inner,
            AttnOnly = false,
            ActFn = actFn,
            NormalizationType = Normalization.LN,
            PositionalEmbeddingType = PositionalEmbedding.Standard,
        };
        var problems = config.Problems();
        return problems.Count == 0 ? config : throw new WeightsFormatException(path, null, "invalid GPT-2 config: " + string.Join(" ", problems));
    }

    /// <summary>
    /// <paramref name="tensors"/>, under <c>GPT2LMHeadModel</c>'s names (with or without the <c>transformer.</c>
    /// prefix), as a TransformerLens state dict for <paramref name="config"/>. <paramref name="file"/> names the file
    /// in errors.
    /// </summary>
    /// <exception cref="WeightsFormatException">A tensor is missing, unexpected or of the wrong shape.</exception>
    public static Dictionary<string, Tensor> ToTransformerLens(ModelConfig config, IReadOnlyDictionary<string, Tensor> tensors, string file)
    {
        var prefix = tensors.Keys.Any(k => k.StartsWith("transformer.", StringComparison.Ordinal)) ? "transformer." : "";
        var used = new HashSet<string>(StringComparer.Ordinal);
        Tensor Take(string name, params long[] shape)
        {
            var full = name == "lm_head.weight" ? name : prefix + name;
            if (!tensors.TryGetValue(full, out var tensor))
            {
                throw new WeightsFormatException(file, full, "missing (a GPT-2 checkpoint has it).");
            }

            if (!tensor.Shape.ToArray().Select(d => (long)d).SequenceEqual(shape))
            {
                throw new WeightsFormatException(file, full,
                    $"has shape {Tensor.FormatShape(tensor.Shape)}; config.json needs [{string.Join(", ", shape)}].");
            }

            used.Add(full);
            return tensor;
        }

        if (config.NLayers > tensors.Count)
        {
            throw new WeightsFormatException(file, $"{prefix}h.0.attn.c_attn.weight",
                $"missing: a model with n_layer={config.NLayers} needs more tensors than the file's {tensors.Count}.");
        }

        long d = config.DModel, mlp = config.DMlp ?? 0;
        var wte = Take("wte.weight", config.DVocab, d);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["embed.W_E"] = wte,
            ["pos_embed.W_pos"] = Take("wpe.weight", config.NCtx, d),
        };
        var split = Memory<float>.Empty;
        for (var l = 0; l < config.NLayers; l++)
        {
            string hf = $"h.{l}.", tl = $"blocks.{l}.";
            state[tl + "ln1.w"] = Take(hf + "ln_1.weight", d);
            state[tl + "ln1.b"] = Take(hf + "ln_1.bias", d);
            var cAttn = Take(hf + "attn.c_attn.weight", d, 3 * d);

            // The layers' W_Q, W_K and W_V share arrays of up to 2^28 floats: large enough for huge pages, so the 85 MB
            // that GPT-2 small's split writes fault in a few dozen 2 MB pages rather than 21,000 small ones. Each array
            // is made once the file has shown a c_attn of the size it is for.
            var perLayer = cAttn.Length;
            var layersPerArray = Math.Max(1, (1 << 28) / perLayer);
            if (l % layersPerArray == 0)
            {
                split = Tensors.HugePages.Allocate(Math.Min(layersPerArray, config.NLayers - l) * perLayer);
            }

            var (wQ, wK, wV) = SplitQkv(cAttn, config, split.Slice(l % layersPerArray * perLayer, perLayer));
            Tensors.ResidentPages.Release(cAttn.Memory); // copied: its mapped pages need not stay resident
            state[tl + "attn.W_Q"] = wQ;
            state[tl + "attn.W_K"] = wK;
            state[tl + "attn.W_V"] = wV;
            var qkvBias = Take(hf + "attn.c_attn.bias", 3 * d).Memory;
            var third = config.DModel;
            state[tl + "attn.b_Q"] = new Tensor(qkvBias[..third], config.NHeads, config.DHead);
            state[tl + "attn.b_K"] = new Tensor(qkvBias.Slice(third, third), config.NHeads, config.DHead);
            state[tl + "attn.b_V"] = new Tensor(qkvBias.Slice(2 * third, third), config.NHeads, config.DHead);
            // c_proj's input rows are the heads' outputs in order: [(head, d_head), d_model] is W_O [head, d_head, d_model].
            state[tl + "attn.W_O"] = Take(hf + "attn.c_proj.weight", d, d).Reshape(config.NHeads, config.DHead, config.DModel);
            state[tl + "attn.b_O"] = Take(hf + "attn.c_proj.bias", d);
            state[tl + "ln2.w"] = Take(hf + "ln_2.weight", d);
            state[tl + "ln2.b"] = Take(hf + "ln_2.bias", d);
            state[tl + "mlp.W_in"] = Take(hf + "mlp.c_fc.weight", d, mlp);
            state[tl + "mlp.b_in"] = Take(hf + "mlp.c_fc.bias", mlp);
            state[tl + "mlp.W_out"] = Take(hf + "mlp.c_proj.weight", mlp, d);
            state[tl + "mlp.b_out"] = Take(hf + "mlp.c_proj.bias", d);
        }

        state["ln_final.w"] = Take("ln_f.weight", d);
        state["ln_final.b"] = Take("ln_f.bias", d);
        // Tied weights: without lm_head.weight the unembedding is wte transposed, as in GPT2LMHeadModel, computed only
        // when first read (a DeferredMatrix): what reads it a vocabulary chunk at a time never holds the copy.
        if (tensors.ContainsKey("lm_head.weight"))
        {
            var head = Take("lm_head.weight", config.DVocab, d);
            state["unembed.W_U"] = head.Transpose();
            Tensors.ResidentPages.Release(head.Memory);
        }
        else
        {
            state["unembed.W_U"] = new Tensors.TransposedMatrix(wte).AsTensor();
        }

        state["unembed.b_U"] = new Tensor(config.DVocab);
        if (tensors.Keys.FirstOrDefault(k => !used.Contains(k)) is { } extra)
        {
            throw new WeightsFormatException(file, extra, "unexpected: not a tensor of a GPT-2 model with this config.");
        }

        return state;
    }

    /// <summary>
    /// <c>c_attn.weight</c> <c>[d_model, 3 d_model]</c> (Conv1D: <c>x W</c>) as <c>W_Q, W_K, W_V</c>, each
    /// <c>[n_heads, d_model, d_head]</c>: column block <c>i</c> of <c>d_model</c>, split into heads of <c>d_head</c>;
    /// the three live in <paramref name="destination"/> (<c>3 d_model²</c> floats, zero), one after another.
    /// </summary>
    private static (Tensor Q, Tensor K, Tensor V) SplitQkv(Tensor cAttn, ModelConfig config, Memory<float> destination)
    {
        int dm = config.DModel, heads = config.NHeads, dh = config.DHead;
        var parts = new Tensor[3];
        var source = cAttn.Span;
        for (var i = 0; i < 3; i++)
        {
            var part = new Tensor(destination.Slice(i * dm * dm, dm * dm), heads, dm, dh);
            var target = part.Span;
            for (var head = 0; head < heads; head++)
            {
                for (var row = 0; row < dm; row++)
                {
                    source.Slice((row * 3 * dm) + (i * dm) + (head * dh), dh).CopyTo(target.Slice(((head * dm) + row) * dh, dh));
                }
            }

            parts[i] = part;
        }

        return (parts[0], parts[1], parts[2]);
    }

    private static int Size(JsonElement root, string name, string path)
    {
        var value = Int(root, name, path);
        return value is > 0
            ? value.Value
            : throw new WeightsFormatException(path, null, $"invalid GPT-2 config: {name} must be a positive integer (got {root.GetProperty(name).GetRawText()}).");
    }

    private static int? Int(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i)
            ? i
            : throw new WeightsFormatException(path, null, $"invalid GPT-2 config: {name} must be an integer of at most {int.MaxValue} (got {Shorten(value.GetRawText())}).");
    }

    private static string? String(JsonElement root, string name, string path) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new WeightsFormatException(path, null, $"invalid GPT-2 config: {name} must be a string.");

    private static bool Bool(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw new WeightsFormatException(path, null, $"invalid GPT-2 config: {name} must be true or false."),
        };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
