using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>Which of TransformerLens's weight-processing steps to apply (all on by default, as in TL).</summary>
public sealed record WeightProcessingOptions
{
    /// <summary>TransformerLens's defaults: every step.</summary>
    public static WeightProcessingOptions Default { get; } = new();

    /// <summary>No processing: the weights as trained.</summary>
    public static WeightProcessingOptions None { get; } = new()
    {
        FoldLayerNorm = false, CenterWritingWeights = false, CenterUnembed = false, FoldValueBiases = false,
    };

    /// <summary>Fold LayerNorm weights and biases into the weights that read its output, and centre those readers.</summary>
    public bool FoldLayerNorm { get; init; } = true;

    /// <summary>Subtract the d_model mean from everything that writes to the residual stream.</summary>
    public bool CenterWritingWeights { get; init; } = true;

    /// <summary>Subtract the vocabulary mean from <c>W_U</c> and <c>b_U</c> (log-probs are unchanged).</summary>
    public bool CenterUnembed { get; init; } = true;

    /// <summary>Move the value biases into the output bias: <c>b_O += Σ_h b_V W_O</c>, <c>b_V = 0</c>.</summary>
    public bool FoldValueBiases { get; init; } = true;
}

/// <summary>The outcome of <see cref="WeightProcessing.Apply"/>.</summary>
/// <param name="Weights">New weights; the input is never modified.</param>
/// <param name="Description">
/// The steps applied, in order and under TransformerLens's names
/// (<c>"fold_ln, center_writing_weights, center_unembed, fold_value_biases"</c>), or <c>"none"</c>.
/// </param>
/// <param name="Skipped">Steps that were asked for but not applied, each with the reason.</param>
public sealed record ProcessedWeights(TransformerWeights Weights, string Description, IReadOnlyList<string> Skipped);

/// <summary>
/// TransformerLens's weight processing (<c>process_weights_</c>), in its order: fold LayerNorm, centre writing
/// weights, centre unembed, fold value biases. Every step leaves the model's log-probabilities unchanged.
/// </summary>
/// <remarks>
/// As in TransformerLens's <c>from_pretrained</c>: folding LayerNorm, centring writing weights and centring the
/// unembedding are all refused for shortformer models (positions enter only Q and K, so the residual stream is not
/// what LayerNorm normalises there; TransformerLens turns all three off and warns), and
/// centring writing weights is refused for models without LayerNorm (only LayerNorm makes the mean of the
/// residual stream irrelevant). A refused step is listed in <see cref="ProcessedWeights.Skipped"/>. For an
/// <c>LNPre</c> model, folding has no LayerNorm parameters to move and only centres the reading weights.
/// </remarks>
public static class WeightProcessing
{
    /// <summary>New weights with the chosen steps applied; <paramref name="weights"/> (possibly read-only) is not touched.</summary>
    public static ProcessedWeights Apply(TransformerWeights weights, WeightProcessingOptions? options = null) =>
        Process(weights, options, inPlace: false);

    /// <summary>
    /// As <see cref="Apply(TransformerWeights, WeightProcessingOptions?)"/>, but the steps write into
    /// <paramref name="weights"/>' own tensors, which the result shares: no tensor is copied, and
    /// <paramref name="weights"/> must not be used afterwards as the original model. Meant for weights loaded
    /// only to be processed, such as a <c>ModelFolder</c>'s copy-on-write mapping: there the written pages become
    /// private copies in place of the file's pages, the file is not changed, and the model is never held twice.
    /// </summary>
    public static ProcessedWeights ApplyInPlace(TransformerWeights weights, WeightProcessingOptions? options = null) =>
        Process(weights, options, inPlace: true);

    private static ProcessedWeights Process(TransformerWeights weights, WeightProcessingOptions? options, bool inPlace)
    {
        ArgumentNullException.ThrowIfNull(weights);
        options ??= WeightProcessingOptions.Default;
        var config = weights.Config;
        var applied = new List<string>();
        var skipped = new List<string>();
        var t = weights.ToStateDict().ToDictionary(kv => kv.Key, kv => inPlace ? kv.Value : kv.Value.Clone(), StringComparer.Ordinal);

        if (options.FoldLayerNorm)
        {
            if (config.IsShortformer)
            {
                skipped.Add("fold_ln: refused for a shortformer model, as TransformerLens does.");
            }
            else if (!config.HasLayerNorm)
            {
                skipped.Add("fold_ln: the model has no LayerNorm.");
            }
            else
            {
                FoldLayerNorm(config, t);
                config = config with { NormalizationType = Normalization.LNPre };
                applied.Add("fold_ln");
            }
        }

        if (options.CenterWritingWeights)
        {
            if (config.IsShortformer)
            {
                skipped.Add("center_writing_weights: refused for a shortformer model, as TransformerLens does.");
            }
            else if (!config.HasLayerNorm)
            {
                skipped.Add("center_writing_weights: without LayerNorm the residual mean matters, so it would change the model.");
            }
            else
            {
                CenterWritingWeights(config, t);
                applied.Add("center_writing_weights");
            }
        }

        if (options.CenterUnembed && config.IsShortformer)
        {
            skipped.Add("center_unembed: refused for a shortformer model, as TransformerLens does.");
        }
        else if (options.CenterUnembed)
        {
            CenterColumnsOfRows(t["unembed.W_U"]);
            SubtractMean(t["unembed.b_U"].Span);
            applied.Add("center_unembed");
        }

        if (options.FoldValueBiases)
        {
            FoldValueBiases(config, t);
            applied.Add("fold_value_biases");
        }

        var result = TransformerWeights.FromStateDict(config, t, "<processed weights>");
        return new ProcessedWeights(result, applied.Count == 0 ? "none" : string.Join(", ", applied), skipped);
    }

    private static void FoldLayerNorm(ModelConfig config, Dictionary<string, Tensor> t)
    {
        for (var l = 0; l < config.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            foreach (var x in new[] { "Q", "K", "V" })
            {
                var w = t[p + "attn.W_" + x];
                if (config.HasLayerNormWeights)
                {
                    for (var h = 0; h < config.NHeads; h++)
                    {
                        FoldInto(w[h], t[p + "attn.b_" + x][h], t[p + "ln1.w"], t[p + "ln1.b"]);
                    }
                }

                for (var h = 0; h < config.NHeads; h++)
                {
                    CenterRowsOfColumns(w[h]);
                }
            }

            if (config.HasMlp)
            {
                if (config.HasLayerNormWeights)
                {
                    FoldInto(t[p + "mlp.W_in"], t[p + "mlp.b_in"], t[p + "ln2.w"], t[p + "ln2.b"]);
                }

                CenterRowsOfColumns(t[p + "mlp.W_in"]);
            }

            foreach (var name in new[] { "ln1.w", "ln1.b", "ln2.w", "ln2.b" })
            {
                t.Remove(p + name);
            }
        }

        if (config.HasLayerNormWeights)
        {
            FoldInto(t["unembed.W_U"], t["unembed.b_U"], t["ln_final.w"], t["ln_final.b"]);
        }

        CenterRowsOfColumns(t["unembed.W_U"]);
        t.Remove("ln_final.w");
        t.Remove("ln_final.b");
    }

    /// <summary>For a reader <c>W [d_model, n]</c> of <c>LN(x) = x̂ · w + b</c>: <c>bias += b · W</c>, then <c>W = diag(w) · W</c>.</summary>
    private static void FoldInto(Tensor w, Tensor bias, Tensor lnW, Tensor lnB)
    {
        int rows = w.Dim(0), cols = w.Dim(1);
        var ws = w.Span;
        var bs = bias.Span;
        var g = lnW.Span;
        var beta = lnB.Span;
        HugePages.PrepareWrites(ws);

        // Row by row, each column's sum in its own double: the same additions in the same order as a column at a time,
        // reading the matrix in memory order.
        var sums = new double[cols];
        for (var j = 0; j < cols; j++)
        {
            sums[j] = bs[j];
        }

        for (var i = 0; i < rows; i++)
        {
            var row = ws.Slice(i * cols, cols);
            for (var j = 0; j < cols; j++)
            {
                sums[j] += (double)beta[i] * row[j];
            }

            for (var j = 0; j < cols; j++)
            {
                row[j] *= g[i];
            }
        }

        for (var j = 0; j < cols; j++)
        {
            bs[j] = (float)sums[j];
        }
    }

    private static void CenterWritingWeights(ModelConfig config, Dictionary<string, Tensor> t)
    {
        CenterColumnsOfRows(t["embed.W_E"]);
        CenterColumnsOfRows(t["pos_embed.W_pos"]);
        for (var l = 0; l < config.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            var wo = t[p + "attn.W_O"];
            CenterColumnsOfRows(wo.Reshape(wo.Dim(0) * wo.Dim(1), wo.Dim(2)));
            SubtractMean(t[p + "attn.b_O"].Span);
            if (config.HasMlp)
            {
                CenterColumnsOfRows(t[p + "mlp.W_out"]);
                SubtractMean(t[p + "mlp.b_out"].Span);
            }
        }
    }

    private static void FoldValueBiases(ModelConfig config, Dictionary<string, Tensor> t)
    {
        for (var l = 0; l < config.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            var bv = t[p + "attn.b_V"];
            var wo = t[p + "attn.W_O"];
            var bo = t[p + "attn.b_O"].Span;
            var folded = new double[bo.Length];
            for (var m = 0; m < bo.Length; m++)
            {
                folded[m] = bo[m];
            }

            for (var h = 0; h < config.NHeads; h++)
            {
                for (var d = 0; d < config.DHead; d++)
                {
                    double v = bv[h, d];
                    var row = wo[h][d].Span;
                    for (var m = 0; m < bo.Length; m++)
                    {
                        folded[m] += v * row[m];
                    }
                }
            }

            for (var m = 0; m < bo.Length; m++)
            {
                bo[m] = (float)folded[m];
            }

            bv.Span.Clear();
        }
    }

    /// <summary>Subtracts each row's mean (over the last axis) from a matrix.</summary>
    private static void CenterColumnsOfRows(Tensor m)
    {
        var cols = m.Dim(1);
        HugePages.PrepareWrites(m.Span);
        for (var i = 0; i < m.Dim(0); i++)
        {
            SubtractMean(m.Span.Slice(i * cols, cols));
        }
    }

    /// <summary>Subtracts each column's mean (over the first axis, d_model for a reader) from a matrix.</summary>
    private static void CenterRowsOfColumns(Tensor m)
    {
        int rows = m.Dim(0), cols = m.Dim(1);
        var s = m.Span;
        HugePages.PrepareWrites(s);

        // Each column's sum in its own double, row by row: the same additions in the same order, in memory order.
        var sums = new double[cols];
        for (var i = 0; i < rows; i++)
        {
            var row = s.Slice(i * cols, cols);
            for (var j = 0; j < cols; j++)
            {
                sums[j] += row[j];
            }
        }

        var means = new float[cols];
        for (var j = 0; j < cols; j++)
        {
            means[j] = (float)(sums[j] / rows);
        }

        for (var i = 0; i < rows; i++)
        {
            TensorPrimitives.Subtract(s.Slice(i * cols, cols), means, s.Slice(i * cols, cols));
        }
    }

    private static void SubtractMean(Span<float> v)
    {
        double sum = 0;
        foreach (var x in v)
        {
            sum += x;
        }

        var mean = (float)(sum / v.Length);
        for (var i = 0; i < v.Length; i++)
        {
            v[i] -= mean;
        }
    }
}
