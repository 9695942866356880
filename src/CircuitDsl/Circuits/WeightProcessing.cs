using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
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

    /// <summary>Whether a step is chosen that writes the blocks' weights (all but center_unembed do).</summary>
    internal bool WritesBlocks => FoldLayerNorm || CenterWritingWeights || FoldValueBiases;
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
        var unembed = new UnembedSteps();

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
                FoldLayerNorm(config, t, unembed);
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
            unembed.CenterUnembed = true;
            applied.Add("center_unembed");
        }

        if (unembed.Any)
        {
            var processed = new ProcessedUnembed(t["unembed.W_U"], t["unembed.b_U"], unembed);
            t["unembed.W_U"] = processed.Commit();
        }

        if (options.FoldValueBiases)
        {
            FoldValueBiases(config, t);
            applied.Add("fold_value_biases");
        }

        var result = TransformerWeights.FromStateDict(config, t, "<processed weights>");
        return new ProcessedWeights(result, applied.Count == 0 ? "none" : string.Join(", ", applied), skipped);
    }

    private static void FoldLayerNorm(ModelConfig config, Dictionary<string, Tensor> t, UnembedSteps unembed)
    {
        // Each head's W_Q, W_K, W_V and each block's W_in is folded and centred on its own: in parallel, the same values.
        int heads = config.NHeads, readers = (3 * heads) + (config.HasMlp ? 1 : 0);
        Parallel.For(0, config.NLayers * readers, i =>
        {
            int l = i / readers, r = i % readers;
            var p = $"blocks.{l}.";
            var (w, bias, norm) = r < 3 * heads
                ? (t[p + "attn.W_" + "QKV"[r / heads]][r % heads], t[p + "attn.b_" + "QKV"[r / heads]][r % heads], "ln1")
                : (t[p + "mlp.W_in"], t[p + "mlp.b_in"], "ln2");
            var (lnW, lnB) = config.HasLayerNormWeights ? (t[p + norm + ".w"], t[p + norm + ".b"]) : (null, null);
            FoldAndCenter(w, bias, lnW, lnB);
        });

        for (var l = 0; l < config.NLayers; l++)
        {
            foreach (var name in new[] { "ln1.w", "ln1.b", "ln2.w", "ln2.b" })
            {
                t.Remove($"blocks.{l}.{name}");
            }
        }

        if (config.HasLayerNormWeights)
        {
            unembed.LnScale = t["ln_final.w"].Span.ToArray();
            unembed.LnBias = t["ln_final.b"].Span.ToArray();
        }

        unembed.CenterReaders = true;
        t.Remove("ln_final.w");
        t.Remove("ln_final.b");
    }

    /// <summary>
    /// For a reader <c>W [d_model, n]</c> of <c>LN(x) = x̂ · w + b</c>: <c>bias += b · W</c>, then <c>W = diag(w) · W</c>
    /// (when <paramref name="lnW"/> is given), then each column minus its mean over d_model — in one pass over the rows
    /// and one to subtract. Row by row, each column's sums in their own doubles: the same additions in the same order as
    /// a column at a time, or as folding and centring one after the other, reading the matrix in memory order.
    /// </summary>
    private static void FoldAndCenter(Tensor w, Tensor bias, Tensor? lnW, Tensor? lnB)
    {
        int rows = w.Dim(0), cols = w.Dim(1);
        var ws = w.Span;
        HugePages.PrepareWrites(ws);
        var bs = bias.Span;
        var biasSums = lnW is null ? null : new double[cols];
        for (var j = 0; biasSums is not null && j < cols; j++)
        {
            biasSums[j] = bs[j];
        }

        var columnSums = new double[cols];
        for (var i = 0; i < rows; i++)
        {
            var row = ws.Slice(i * cols, cols);
            if (biasSums is not null)
            {
                AddScaled(biasSums, lnB!.Span[i], row);
                TensorPrimitives.Multiply(row, lnW!.Span[i], row);
            }

            AddScaled(columnSums, 1, row);
        }

        for (var j = 0; biasSums is not null && j < cols; j++)
        {
            bs[j] = (float)biasSums[j];
        }

        SubtractColumnMeans(ws, rows, cols, columnSums);
    }

    private static void CenterWritingWeights(ModelConfig config, Dictionary<string, Tensor> t)
    {
        var embedding = t["embed.W_E"];
        if (DeferredMatrix.IsPending(t["unembed.W_U"]))
        {
            // Only in place: a W_U not yet computed may be computed from W_E (a tied unembedding, W_Eᵀ), so W_E must
            // stay as loaded. The centred W_E is computed a row at a time when read (CenteredRows): a batch's tokens,
            // or the copying scores' blocks of rows, never the 147 MB of GPT-2's whole, whose fresh pages cost more
            // than the subtractions on a machine that backs its memory lazily.
            t["embed.W_E"] = new CenteredRows(embedding).AsTensor();
        }
        else
        {
            CenterColumnsOfRows(embedding, embedding);
        }

        CenterColumnsOfRows(t["pos_embed.W_pos"], t["pos_embed.W_pos"]);
        for (var l = 0; l < config.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            var wo = t[p + "attn.W_O"].Reshape(config.NHeads * config.DHead, config.DModel);
            CenterColumnsOfRows(wo, wo);
            SubtractMean(t[p + "attn.b_O"].Span);
            if (config.HasMlp)
            {
                CenterColumnsOfRows(t[p + "mlp.W_out"], t[p + "mlp.W_out"]);
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

    /// <summary>
    /// Each row of <paramref name="source"/> minus its mean (over the last axis), into the same row of
    /// <paramref name="destination"/> (which may be the source). Rows are independent, so blocks of them run in parallel.
    /// </summary>
    private static void CenterColumnsOfRows(Tensor source, Tensor destination)
    {
        int rows = source.Dim(0), cols = source.Dim(1);
        const int block = 256;
        if (source.Memory.Equals(destination.Memory))
        {
            // In place on a copy-on-write mapping; a fresh destination is faulted in by the threads that write it.
            HugePages.PrepareWrites(destination.Span);
        }

        Parallel.For(0, (rows + block - 1) / block, b =>
        {
            int first = b * block, count = Math.Min(block, rows - first);
            SubtractRowMeans(source.Span.Slice(first * cols, count * cols), cols, destination.Span.Slice(first * cols, count * cols));
        });
    }

    /// <summary>
    /// Each row of <paramref name="cols"/> floats in <paramref name="source"/> minus its <see cref="Mean"/>, into the same
    /// row of <paramref name="destination"/> (which may be the source); the means summed eight rows at a time
    /// (<see cref="RowMeans"/>), so a block of rows is not bound by one chain of additions.
    /// </summary>
    internal static void SubtractRowMeans(ReadOnlySpan<float> source, int cols, Span<float> destination)
    {
        const int block = 256;
        Span<float> means = stackalloc float[block];
        for (var first = 0; first < source.Length; first += block * cols)
        {
            var count = Math.Min(block, (source.Length - first) / cols);
            RowMeans(source.Slice(first, count * cols), cols, means[..count]);
            for (var i = 0; i < count; i++)
            {
                var row = first + (i * cols);
                TensorPrimitives.Subtract(source.Slice(row, cols), means[i], destination.Slice(row, cols));
            }
        }
    }

    /// <summary>Subtracts <c>sums[j] / rows</c> from column <c>j</c> of the row-major matrix <paramref name="s"/>.</summary>
    private static void SubtractColumnMeans(Span<float> s, int rows, int cols, double[] sums)
    {
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

    internal static void SubtractMean(Span<float> v) => TensorPrimitives.Subtract(v, Mean(v), v);

    /// <summary>The mean of <paramref name="v"/>, summed in order in double.</summary>
    private static float Mean(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (var x in v)
        {
            sum += x;
        }

        return (float)(sum / v.Length);
    }

    /// <summary>
    /// The <see cref="Mean"/> of each of the <c>means.Length</c> rows of <paramref name="cols"/> floats in
    /// <paramref name="rows"/>: eight rows at a time, so eight chains of additions overlap; each row's sum is still its
    /// own, in order.
    /// </summary>
    private static void RowMeans(ReadOnlySpan<float> rows, int cols, Span<float> means)
    {
        var i = 0;
        for (; i + 8 <= means.Length; i += 8)
        {
            var block = rows.Slice(i * cols, 8 * cols);
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (var j = 0; j < cols; j++)
            {
                s0 += block[j];
                s1 += block[cols + j];
                s2 += block[(2 * cols) + j];
                s3 += block[(3 * cols) + j];
                s4 += block[(4 * cols) + j];
                s5 += block[(5 * cols) + j];
                s6 += block[(6 * cols) + j];
                s7 += block[(7 * cols) + j];
            }

            means[i] = (float)(s0 / cols);
            means[i + 1] = (float)(s1 / cols);
            means[i + 2] = (float)(s2 / cols);
            means[i + 3] = (float)(s3 / cols);
            means[i + 4] = (float)(s4 / cols);
            means[i + 5] = (float)(s5 / cols);
            means[i + 6] = (float)(s6 / cols);
            means[i + 7] = (float)(s7 / cols);
        }

        for (; i < means.Length; i++)
        {
            means[i] = Mean(rows.Slice(i * cols, cols));
        }
    }

    /// <summary>
    /// <c>sums[j] += scale · row[j]</c> for every j, in double: the same product and sum for each element as one at a
    /// time (a multiply, then an add, never fused), several elements per instruction.
    /// </summary>
    internal static void AddScaled(Span<double> sums, double scale, ReadOnlySpan<float> row)
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var factor = new Vector<double>(scale);
            var wide = MemoryMarshal.Cast<double, Vector<double>>(sums);
            for (; j + Vector<float>.Count <= row.Length; j += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(row[j..]), out var low, out var high);
                var k = j / Vector<double>.Count;
                wide[k] += factor * low;
                wide[k + 1] += factor * high;
            }
        }

        for (; j < row.Length; j++)
        {
            sums[j] += scale * row[j];
        }
    }
}

/// <summary>
/// center_writing_weights on a matrix <c>[rows, d_model]</c> not yet computed: each row of the source minus its mean,
/// the same floats as <see cref="WeightProcessing"/>'s centring of a held matrix (the mean summed in order in double,
/// subtracted in float), computed for the rows read. The source's rows are read as a mapped file's should be (the
/// pages released behind, <see cref="ResidentPages"/>); it must not be written meanwhile.
/// </summary>
internal sealed class CenteredRows(Tensor source) : RowDeferredMatrix(source.Dim(0), source.Dim(1))
{
    /// <inheritdoc/>
    public override void ReadRows(ReadOnlySpan<int> rows, Span<float> destination)
    {
        ResidentPages.GatherRows(source.Memory, Columns, rows, destination);
        WeightProcessing.SubtractRowMeans(destination[..(rows.Length * Columns)], Columns, destination);
    }

    /// <inheritdoc/>
    public override void ReadRows(int start, int count, Span<float> destination)
    {
        var raw = source.Memory.Slice(start * Columns, count * Columns);
        WeightProcessing.SubtractRowMeans(raw.Span, Columns, destination);
        ResidentPages.Release(raw);
    }
}

/// <summary>The processing steps that reach the unembedding, gathered as <see cref="WeightProcessing"/> decides them.</summary>
internal sealed class UnembedSteps
{
    /// <summary><c>ln_final.w</c>, folded into <c>W_U</c>'s rows; null when there is none to fold.</summary>
    public float[]? LnScale { get; set; }

    /// <summary><c>ln_final.b</c>, folded into <c>b_U</c>; null when there is none to fold.</summary>
    public float[]? LnBias { get; set; }

    /// <summary>fold_ln's centring of a reader: each column of <c>W_U</c> minus its mean over d_model.</summary>
    public bool CenterReaders { get; set; }

    /// <summary>center_unembed: each row of <c>W_U</c>, and <c>b_U</c>, minus its mean over the vocabulary.</summary>
    public bool CenterUnembed { get; set; }

    /// <summary>Whether any step changes <c>W_U</c> or <c>b_U</c>.</summary>
    public bool Any => LnScale is not null || CenterReaders || CenterUnembed;
}

/// <summary>
/// The processed unembedding, the one home of fold_ln and center_unembed on <c>W_U</c> and <c>b_U</c>, computed a
/// block of vocabulary columns at a time. Each column's fold and mean over d_model belong to that column alone; only
/// center_unembed's row means need every column, and they (with <c>b_U</c>) are summed in one pass on construction.
/// A <c>W_U</c> already held is processed in place (<see cref="Commit"/>); one not yet computed (a tied
/// <c>W_Eᵀ</c>, <see cref="TransposedMatrix"/>) stays deferred, so a reader of column blocks never holds either.
/// </summary>
/// <remarks>
/// Every element sees the operations of the step-by-step order (fold, centre over d_model, centre over the vocabulary),
/// each sum in double: the values are those of processing the whole matrix step after step, but for the row means of
/// center_unembed, summed a block of columns at a time (in parallel), which may round their last bit differently.
/// </remarks>
internal sealed class ProcessedUnembed : DeferredMatrix
{
    /// <summary>Vocabulary columns processed at a time: a few megabytes of buffer for GPT-2's d_model.</summary>
    private const int BlockColumns = 1024;

    private readonly Tensor _raw;
    private readonly UnembedSteps _steps;
    private readonly float[]? _rowMeans;

    /// <summary>Sums what the steps need over <paramref name="raw"/> <c>[d_model, d_vocab]</c> and writes the processed <paramref name="bias"/>.</summary>
    public ProcessedUnembed(Tensor raw, Tensor bias, UnembedSteps steps)
        : base(raw.Dim(0), raw.Dim(1))
    {
        _raw = raw;
        _steps = steps;

        // Blocks of columns in parallel, each as rows [n, d_model] (a tied W_Eᵀ's columns are W_E's rows, read as they
        // lie): b_U's fold and the column steps belong to each column; center_unembed's row sums are summed per block
        // and the blocks' sums added in block order, whatever thread made each.
        var blocks = (Columns + BlockColumns - 1) / BlockColumns;
        var blockSums = steps.CenterUnembed ? new double[blocks * Rows] : null;
        ForEachBlock((start, n, block) =>
        {
            CopyColumnsTransposed(raw, start, n, block);
            if (steps.LnBias is { } beta)
            {
                FoldBias(bias.Span.Slice(start, n), beta, block);
            }

            if (blockSums is not null)
            {
                FoldAndCenterRows(block);
                var sums = blockSums.AsSpan(start / BlockColumns * Rows, Rows);
                for (var j = 0; j < block.Length; j += Rows)
                {
                    WeightProcessing.AddScaled(sums, 1, block.Slice(j, Rows));
                }
            }
        });

        if (blockSums is not null)
        {
            _rowMeans = new float[Rows];
            for (var i = 0; i < Rows; i++)
            {
                var sum = 0.0;
                for (var k = 0; k < blocks; k++)
                {
                    sum += blockSums[(k * Rows) + i];
                }

                _rowMeans[i] = (float)(sum / Columns);
            }

            WeightProcessing.SubtractMean(bias.Span);
        }
    }

    /// <summary>
    /// The processed <c>W_U</c>: the raw tensor with every column processed in place when it is held, or this deferred
    /// matrix when the raw one is not computed yet.
    /// </summary>
    public Tensor Commit()
    {
        if (IsPending(_raw))
        {
            return AsTensor();
        }

        HugePages.PrepareWrites(_raw.Span);
        ForEachBlock((start, n, block) =>
        {
            Compute(start, n, block);
            Scatter(block, n, _raw.Span, start);
        });
        return _raw;
    }

    /// <summary>Runs <paramref name="body"/> on every block of columns (start, count, a <c>[d_model, count]</c> buffer), in parallel.</summary>
    private void ForEachBlock(ColumnBlock body) =>
        Parallel.For(0, (Columns + BlockColumns - 1) / BlockColumns, () => new float[Rows * Math.Min(BlockColumns, Columns)], (k, _, buffer) =>
        {
            var start = k * BlockColumns;
            var n = Math.Min(BlockColumns, Columns - start);
            body(start, n, buffer.AsSpan(0, Rows * n));
            return buffer;
        }, _ => { });

    private delegate void ColumnBlock(int start, int count, Span<float> block);

    /// <inheritdoc/>
    protected override void Compute(int start, int count, Span<float> destination)
    {
        // The columns are computed as rows (ComputeTransposed, the one home of the steps), then laid out as columns.
        var columns = ArrayPool<float>.Shared.Rent(count * Rows);
        try
        {
            ComputeTransposed(start, count, columns);
            Tensor.Transpose(columns, count, Rows, destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(columns);
        }
    }

    /// <summary>
    /// <see cref="Compute"/>'s columns as rows <c>[count, d_model]</c>, from the raw matrix's columns read as rows (a tied
    /// <c>W_Eᵀ</c>'s are <c>W_E</c>'s rows, read with no transposing), with the same floats.
    /// </summary>
    protected override void ComputeTransposed(int start, int count, Span<float> destination)
    {
        var block = destination[..(count * Rows)];
        CopyColumnsTransposed(_raw, start, count, block);
        FoldAndCenterRows(block);
        for (var j = 0; _rowMeans is { } means && j < block.Length; j += Rows)
        {
            TensorPrimitives.Subtract(block.Slice(j, Rows), means, block.Slice(j, Rows));
        }
    }

    /// <summary>
    /// b_U += ln_final.b · W_U for the columns given as rows <paramref name="columns"/> <c>[n, d_model]</c>: each column's
    /// sum in its own double in the order of d_model, four columns at a time so four chains of additions overlap.
    /// </summary>
    private static void FoldBias(Span<float> bias, ReadOnlySpan<float> beta, ReadOnlySpan<float> columns)
    {
        var d = beta.Length;
        var j = 0;
        for (; j + 4 <= bias.Length; j += 4)
        {
            double s0 = bias[j], s1 = bias[j + 1], s2 = bias[j + 2], s3 = bias[j + 3];
            var c = columns.Slice(j * d, 4 * d);
            for (var i = 0; i < d; i++)
            {
                double g = beta[i];
                s0 += g * c[i];
                s1 += g * c[d + i];
                s2 += g * c[(2 * d) + i];
                s3 += g * c[(3 * d) + i];
            }

            (bias[j], bias[j + 1], bias[j + 2], bias[j + 3]) = ((float)s0, (float)s1, (float)s2, (float)s3);
        }

        for (; j < bias.Length; j++)
        {
            double sum = bias[j];
            var c = columns.Slice(j * d, d);
            for (var i = 0; i < d; i++)
            {
                sum += (double)beta[i] * c[i];
            }

            bias[j] = (float)sum;
        }
    }

    /// <summary>
    /// fold_ln on columns of <c>W_U</c> given as rows <c>[n, d_model]</c>: each column times <c>ln_final.w</c>, then minus its
    /// mean over d_model (summed in order in double), a pass along its row.
    /// </summary>
    private void FoldAndCenterRows(Span<float> columns)
    {
        for (var j = 0; _steps.LnScale is { } g && j < columns.Length; j += Rows)
        {
            TensorPrimitives.Multiply(columns.Slice(j, Rows), g, columns.Slice(j, Rows));
        }

        if (_steps.CenterReaders)
        {
            WeightProcessing.SubtractRowMeans(columns, Rows, columns);
        }
    }
}
