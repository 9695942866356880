using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Surgery;

/// <summary>How the parts of a composite share a residual stream (docs/mix-and-match.md, "Composition").</summary>
public enum CompositionAlignment
{
    /// <summary>
    /// The direct sum: the composite's residual stream is the parts' streams side by side, each part reading and
    /// writing only its own block. Exact for models without LayerNorm: the composite's logits are the sum of the parts'.
    /// </summary>
    None,

    /// <summary>
    /// One residual stream, the first part's: every other part's readers and writers are moved into it through linear
    /// maps fitted by least squares on the two models' embeddings (<see cref="StreamMap"/>). Approximate.
    /// </summary>
    Embed,
}

/// <summary>
/// Builds one model out of several without a gradient step. Layout: part <c>p</c>'s layer <c>l</c> is the composite's
/// layer <c>l</c> (parts with fewer layers leave the top layers to the others); in each layer the parts' heads sit side
/// by side in part order (the composite has as many head slots as its fullest layer needs; unused slots are zero
/// heads); <c>d_head</c> is the largest part's, a smaller head padded with zeros and its queries scaled by
/// <c>sqrt(d_head / d_head_p)</c> so its attention scores are unchanged; MLP hidden units sit side by side likewise;
/// <c>n_ctx</c> is the smallest part's. The unembedding is <c>Σ_p α_p R_p W_U^p</c> and <c>b_U = Σ_p α_p b_U^p</c>,
/// where <c>α</c> are the mixing weights (one scalar per part; 1 unless fitted with <see cref="MixingWeights"/>).
/// </summary>
public static class Composition
{
    /// <summary>
    /// Why <paramref name="parts"/> cannot be composed with <paramref name="alignment"/>, in one sentence; null when
    /// they can. Parts must share the vocabulary, the normalization, the positional embedding type and (when both have
    /// MLPs) the activation; <see cref="CompositionAlignment.Embed"/> also needs parts without LayerNorm.
    /// </summary>
    public static string? DescribeIncompatibility(IReadOnlyList<ModelConfig> parts, CompositionAlignment alignment)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count < 2)
        {
            return $"a composite needs at least two parts (got {parts.Count}).";
        }

        var first = parts[0];
        for (var p = 1; p < parts.Count; p++)
        {
            var c = parts[p];
            if (c.DVocab != first.DVocab)
            {
                return $"the parts do not share one vocabulary: part 1 has d_vocab {first.DVocab}, part {p + 1} has {c.DVocab}.";
            }

            if (c.NormalizationType != first.NormalizationType)
            {
                return $"the parts differ in normalization_type (part 1 {Spell(first)}, part {p + 1} {Spell(c)}): one composite has one kind of LayerNorm.";
            }

            if (c.PositionalEmbeddingType != first.PositionalEmbeddingType)
            {
                return $"the parts differ in positional_embedding_type (part 1 {first.PositionalEmbeddingType.ToConfigValue()}, part {p + 1} {c.PositionalEmbeddingType.ToConfigValue()}).";
            }
        }

        var activations = parts.Where(c => c.HasMlp && c.NLayers > 0).Select(c => c.ActFn).Distinct().ToList();
        if (activations.Count > 1)
        {
            return $"the parts' MLPs use different activations ({string.Join(", ", activations.Select(a => a?.ToConfigValue()))}).";
        }

        if (alignment == CompositionAlignment.Embed && first.HasLayerNorm)
        {
            return $"--align embed maps residual streams linearly, which LayerNorm does not commute with: it needs parts without LayerNorm (these have {Spell(first)}).";
        }

        return null;
    }

    /// <summary>
    /// The composite of <paramref name="parts"/> with mixing weights <paramref name="mixing"/> (one per part; all 1 when
    /// null). With <see cref="CompositionAlignment.Embed"/>, <paramref name="maps"/> gives the stream maps (fitted with
    /// <see cref="StreamMap.Fit"/> when null).
    /// </summary>
    /// <exception cref="ArgumentException">The parts are incompatible (<see cref="DescribeIncompatibility"/>) or the
    /// mixing weights do not match them.</exception>
    public static TransformerWeights Compose(IReadOnlyList<TransformerWeights> parts, CompositionAlignment alignment,
        IReadOnlyList<double>? mixing = null, IReadOnlyList<StreamMap>? maps = null)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (DescribeIncompatibility(parts.Select(w => w.Config).ToList(), alignment) is { } why)
        {
            throw new ArgumentException(why, nameof(parts));
        }

        if (mixing is not null && (mixing.Count != parts.Count || mixing.Any(a => !double.IsFinite(a))))
        {
            throw new ArgumentException($"{parts.Count} parts need {parts.Count} finite mixing weights (got {mixing.Count}).", nameof(mixing));
        }

        var layout = Layout.Of(parts, alignment, maps);
        var result = TransformerWeights.Zeros(layout.Config);
        var c = layout.Config;
        for (var p = 0; p < parts.Count; p++)
        {
            var part = parts[p];
            var reader = layout.Readers[p];
            var writer = layout.Writers[p];
            if (alignment == CompositionAlignment.None || p == 0)
            {
                AddProduct(part.W_E, writer, result.W_E);
                AddProduct(Rows(part.W_pos, c.NCtx), writer, result.W_pos);
            }

            var alpha = (float)(mixing?[p] ?? 1.0);
            var unembed = Gemm.MatMul(reader, part.W_U);
            Accumulate(result.W_U.Span, unembed.Span, alpha);
            Accumulate(result.b_U.Span, part.b_U.Span, alpha);
            if (c.HasLayerNormWeights)
            {
                Place(part.LnFinalW!, result.LnFinalW!, layout.Offsets[p]);
                Place(part.LnFinalB!, result.LnFinalB!, layout.Offsets[p]);
            }

            for (var l = 0; l < part.Config.NLayers; l++)
            {
                CopyBlock(part, l, result.Blocks[l], layout, p);
            }
        }

        return result;
    }

    /// <summary>Copies part <paramref name="p"/>'s layer <paramref name="l"/> into its slots of <paramref name="target"/>.</summary>
    private static void CopyBlock(TransformerWeights part, int l, BlockWeights target, Layout layout, int p)
    {
        var source = part.Blocks[l];
        var pc = part.Config;
        var reader = layout.Readers[p];
        var writer = layout.Writers[p];
        var queryScale = (float)Math.Sqrt(layout.Config.DHead / (double)pc.DHead);
        for (var h = 0; h < pc.NHeads; h++)
        {
            var slot = layout.HeadSlots[p][l] + h;
            PlaceColumns(Gemm.MatMul(reader, source.W_Q[h]), target.W_Q[slot], queryScale);
            PlaceColumns(Gemm.MatMul(reader, source.W_K[h]), target.W_K[slot], 1f);
            PlaceColumns(Gemm.MatMul(reader, source.W_V[h]), target.W_V[slot], 1f);
            Gemm.MatMul(source.W_O[h], writer).Span.CopyTo(target.W_O[slot].Span);
            PlaceScaled(source.b_Q[h], target.b_Q[slot], queryScale);
            PlaceScaled(source.b_K[h], target.b_K[slot], 1f);
            PlaceScaled(source.b_V[h], target.b_V[slot], 1f);
        }

        AddProduct(source.b_O.Reshape(1, pc.DModel), writer, target.b_O.Reshape(1, layout.Config.DModel));
        if (source.Ln1W is not null)
        {
            Place(source.Ln1W, target.Ln1W!, layout.Offsets[p]);
            Place(source.Ln1B!, target.Ln1B!, layout.Offsets[p]);
        }

        if (source.W_in is null)
        {
            return;
        }

        if (source.Ln2W is not null)
        {
            Place(source.Ln2W, target.Ln2W!, layout.Offsets[p]);
            Place(source.Ln2B!, target.Ln2B!, layout.Offsets[p]);
        }

        var hidden = layout.MlpOffsets[p];
        var dMlp = source.W_in.Dim(1);
        var wIn = Gemm.MatMul(reader, source.W_in);
        for (var r = 0; r < wIn.Dim(0); r++)
        {
            wIn.Span.Slice(r * dMlp, dMlp).CopyTo(target.W_in!.Span.Slice((r * target.W_in.Dim(1)) + hidden, dMlp));
        }

        Place(source.b_in!, target.b_in!, hidden);
        var wOut = Gemm.MatMul(source.W_out!, writer);
        wOut.Span.CopyTo(target.W_out!.Span.Slice(hidden * target.W_out.Dim(1), wOut.Length));
        AddProduct(source.b_out!.Reshape(1, pc.DModel), writer, target.b_out!.Reshape(1, layout.Config.DModel));
    }

    private static string Spell(ModelConfig c) => c.NormalizationType.ToConfigValue() ?? "none";

    /// <summary>The first <paramref name="n"/> rows of a matrix.</summary>
    private static Tensor Rows(Tensor m, int n) => new(m.Memory[..(n * m.Dim(1))], n, m.Dim(1));

    /// <summary><c>target += a · b</c>.</summary>
    private static void AddProduct(Tensor a, Tensor b, Tensor target) => Gemm.MatMul(a, b, target, beta: 1f);

    private static void Accumulate(Span<float> target, ReadOnlySpan<float> source, float scale)
    {
        for (var i = 0; i < source.Length; i++)
        {
            target[i] += scale * source[i];
        }
    }

    /// <summary>A vector into <paramref name="target"/> from index <paramref name="offset"/>.</summary>
    private static void Place(Tensor source, Tensor target, int offset) => source.Span.CopyTo(target.Span[offset..]);

    private static void PlaceScaled(Tensor source, Tensor target, float scale)
    {
        var s = source.Span;
        var t = target.Span;
        for (var i = 0; i < s.Length; i++)
        {
            t[i] = scale * s[i];
        }
    }

    /// <summary>A <c>[d_model, d_head_p]</c> matrix into the first columns of a <c>[d_model, d_head]</c> one, scaled.</summary>
    private static void PlaceColumns(Tensor source, Tensor target, float scale)
    {
        int rows = source.Dim(0), from = source.Dim(1), to = target.Dim(1);
        var s = source.Span;
        var t = target.Span;
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < from; j++)
            {
                t[(r * to) + j] = scale * s[(r * from) + j];
            }
        }
    }

    /// <summary>Where each part goes in the composite: its config, stream maps, head slots and MLP columns.</summary>
    private sealed record Layout(ModelConfig Config, Tensor[] Readers, Tensor[] Writers, int[] Offsets, int[][] HeadSlots, int[] MlpOffsets)
    {
        public static Layout Of(IReadOnlyList<TransformerWeights> parts, CompositionAlignment alignment, IReadOnlyList<StreamMap>? maps)
        {
            var configs = parts.Select(w => w.Config).ToList();
            var layers = configs.Max(c => c.NLayers);
            var withLayers = configs.Where(c => c.NLayers > 0).ToList();
            var dHead = withLayers.Count > 0 ? withLayers.Max(c => c.DHead) : configs.Max(c => c.DHead);
            var slots = new int[parts.Count][];
            var heads = 1;
            for (var l = 0; l < layers; l++)
            {
                var used = 0;
                for (var p = 0; p < parts.Count; p++)
                {
                    slots[p] ??= new int[layers];
                    slots[p][l] = used;
                    used += l < configs[p].NLayers ? configs[p].NHeads : 0;
                }

                heads = Math.Max(heads, used);
            }

            var mlpOffsets = new int[parts.Count];
            var dMlp = 0;
            for (var p = 0; p < parts.Count; p++)
            {
                slots[p] ??= new int[layers];
                mlpOffsets[p] = dMlp;
                dMlp += configs[p].HasMlp && configs[p].NLayers > 0 ? configs[p].DMlp ?? 0 : 0;
            }

            var offsets = new int[parts.Count];
            Tensor[] readers, writers;
            int dModel;
            if (alignment == CompositionAlignment.None)
            {
                dModel = 0;
                for (var p = 0; p < parts.Count; p++)
                {
                    offsets[p] = dModel;
                    dModel += configs[p].DModel;
                }

                readers = new Tensor[parts.Count];
                writers = new Tensor[parts.Count];
                for (var p = 0; p < parts.Count; p++)
                {
                    readers[p] = new Tensor(dModel, configs[p].DModel);
                    writers[p] = new Tensor(configs[p].DModel, dModel);
                    for (var i = 0; i < configs[p].DModel; i++)
                    {
                        readers[p][offsets[p] + i, i] = 1f;
                        writers[p][i, offsets[p] + i] = 1f;
                    }
                }
            }
            else
            {
                dModel = configs[0].DModel;
                var fitted = maps ?? StreamMap.Fit(parts);
                readers = fitted.Select(m => m.Reader).ToArray();
                writers = fitted.Select(m => m.Writer).ToArray();
            }

            var mlp = dMlp > 0;
            var config = new ModelConfig
            {
                NLayers = layers,
                NHeads = heads,
                DModel = dModel,
                DHead = dHead,
                DVocab = configs[0].DVocab,
                NCtx = configs.Min(c => c.NCtx),
                AttnOnly = !mlp,
                DMlp = mlp ? dMlp : null,
                ActFn = mlp ? configs.First(c => c.HasMlp && c.NLayers > 0).ActFn : null,
                NormalizationType = configs[0].NormalizationType,
                PositionalEmbeddingType = configs[0].PositionalEmbeddingType,
            };
            return new Layout(config, readers, writers, offsets, slots, mlpOffsets);
        }
    }
}
