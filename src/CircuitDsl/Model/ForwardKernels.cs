using System.Buffers;
using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>
/// The stages of the forward pass (docs/math.md, "The forward pass") on flat row-major spans, each written once: the embeddings, LayerNorm
/// (<see cref="Ops.LayerNormRows(ReadOnlySpan{float}, Span{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float)"/>,
/// optionally keeping its statistics), the query, key and value projections, causal softmax attention, the
/// output and MLP products (<see cref="Ops.Activation"/> between) and the unembedding. <see cref="ForwardPass"/> runs
/// them on fresh tensors with hook points between, for inference; <see cref="Training.TrainingPass"/> runs them on
/// buffers it reuses, keeping what its backward pass reads.
/// </summary>
/// <remarks>
/// A batch of <c>S</c> sequences of <c>T</c> tokens is <c>S·T</c> rows. Queries, keys, values and <c>z</c> are
/// <c>[rows, n_heads·d_head]</c> (TransformerLens's <c>[batch, pos, head, d_head]</c>), so one head of one sequence is
/// a strided block that a product reads through its leading dimension, and <c>z · W_O</c> is one product because
/// <c>W_O [n_heads, d_head, d_model]</c> is contiguous as <c>[n_heads·d_head, d_model]</c>. Every product runs on the
/// backend it is given, so the caller decides what runs side by side.
/// </remarks>
internal static class ForwardKernels
{
    /// <summary>Query rows per score and pattern product: the causal mask lets each block skip the keys after it.</summary>
    public const int RowBlock = 128;

    /// <summary>
    /// The token and position embeddings of a batch of equal-length sequences: row <c>s·T + p</c> of
    /// <paramref name="embed"/> is <c>W_E[tokens[s][p]]</c> and of <paramref name="positions"/> <c>W_pos[p]</c>. Standard
    /// positions are then added to the residual stream, shortformer ones to the queries' and keys' inputs only.
    /// </summary>
    public static void Embed(TransformerWeights weights, IReadOnlyList<int[]> tokens, Span<float> embed, Span<float> positions)
    {
        var d = weights.Config.DModel;
        var count = 0;
        foreach (var sequence in tokens)
        {
            count += sequence.Length;
        }

        PositionRows(weights, tokens.Count, tokens[0].Length, positions);
        var flat = ArrayPool<int>.Shared.Rent(count);
        try
        {
            var row = 0;
            foreach (var sequence in tokens)
            {
                sequence.CopyTo(flat, row);
                row += sequence.Length;
            }

            // Only these tokens' rows are needed: of a loaded model's W_E (a mapped file) or of one computed a row at a time.
            DeferredMatrix.GatherRows(weights.W_E, flat.AsSpan(0, count), embed);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(flat);
        }
    }

    /// <summary>The position embeddings of <paramref name="batch"/> sequences of <paramref name="positions"/>: <c>W_pos[p]</c> at row <c>s·T + p</c>.</summary>
    public static void PositionRows(TransformerWeights weights, int batch, int positions, Span<float> rows)
    {
        var length = positions * weights.Config.DModel;
        for (var s = 0; s < batch; s++)
        {
            weights.W_pos.Span[..length].CopyTo(rows.Slice(s * length, length));
        }
    }

    /// <summary>
    /// LayerNorm of each row of width <paramref name="dModel"/> with the learned <paramref name="weight"/> and
    /// <paramref name="bias"/> (<c>LN</c>), or normalising only when they are null (<c>LNPre</c>); keeps <c>x̂</c> and
    /// <c>1/σ</c> when given room. A model without normalization does not call this.
    /// </summary>
    public static void LayerNorm(
        ReadOnlySpan<float> x, Span<float> y, int dModel, Tensor? weight, Tensor? bias,
        Span<float> normalized = default, Span<float> inverseStd = default) =>
        Ops.LayerNormRows(x, y, dModel, weight is null ? default : weight.Span, bias is null ? default : bias.Span, normalized, inverseStd);

    /// <summary>
    /// <c>x · W_h + b_h</c> for every head at once into <paramref name="output"/> <c>[rows, n_heads·d_head]</c>: one product
    /// with the heads' weights <c>[n_heads, d_model, d_head]</c> side by side (<c>[d_model, n_heads·d_head]</c>, a small
    /// pooled copy), not one narrow product per head.
    /// </summary>
    public static void ProjectHeads(IGemmBackend gemm, ReadOnlySpan<float> x, Tensor weight, Tensor bias, Span<float> output)
    {
        int dm = weight.Dim(1), width = weight.Dim(0) * weight.Dim(2);
        var sideBySide = ArrayPool<float>.Shared.Rent(dm * width);
        try
        {
            SideBySide(weight, sideBySide);
            FillRows(bias.Span, output);
            gemm.Sgemm(false, false, output.Length / width, width, dm, 1f, x, dm, sideBySide, width, 1f, output, width);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(sideBySide);
        }
    }

    /// <summary>
    /// The heads' weights <c>[n_heads, d_model, d_head]</c> side by side in <paramref name="sideBySide"/>
    /// <c>[d_model, n_heads·d_head]</c>, the layout of <see cref="ProjectHeads"/>'s output.
    /// </summary>
    public static void SideBySide(Tensor weight, Span<float> sideBySide)
    {
        int heads = weight.Dim(0), dm = weight.Dim(1), dh = weight.Dim(2), width = heads * dh;
        for (var h = 0; h < heads; h++)
        {
            var w = weight[h].Span;
            for (var i = 0; i < dm; i++)
            {
                w.Slice(i * dh, dh).CopyTo(sideBySide.Slice((i * width) + (h * dh), dh));
            }
        }
    }

    /// <summary>
    /// <c>x · W + b</c> over the rows of <paramref name="x"/> into <paramref name="output"/>: <paramref name="weight"/> is
    /// <c>[inner, outer]</c> with <c>outer</c> the length of <paramref name="bias"/> (<c>W_O</c> as <c>[n_heads·d_head, d_model]</c>,
    /// <c>W_in</c>, <c>W_out</c>, <c>W_U</c>).
    /// </summary>
    public static void Linear(IGemmBackend gemm, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        int outer = bias.Length, inner = weight.Length / outer;
        FillRows(bias, output);
        gemm.Sgemm(false, false, output.Length / outer, outer, inner, 1f, x, inner, weight, outer, 1f, output, outer);
    }

    /// <summary>Copies <paramref name="vector"/> into every row of <paramref name="output"/>.</summary>
    public static void FillRows(ReadOnlySpan<float> vector, Span<float> output)
    {
        for (var r = 0; r < output.Length; r += vector.Length)
        {
            vector.CopyTo(output.Slice(r, vector.Length));
        }
    }

    /// <summary>
    /// Causal softmax attention of one head on one sequence for query rows <c>[r0, r0 + rows)</c>: their pattern
    /// (<see cref="CausalPatternRows"/>) in <paramref name="pattern"/>, then their <c>z = pattern · v</c> (<see cref="Mix"/>).
    /// </summary>
    public static void CausalAttentionRows(
        IGemmBackend gemm, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> z, int stride, int dHead,
        int r0, int rows, Span<float> pattern, int ld)
    {
        CausalPatternRows(gemm, q, k, stride, dHead, r0, rows, pattern, ld);
        Mix(gemm, pattern, ld, v, z, stride, dHead, r0, rows, r0 + rows);
    }

    /// <summary>
    /// The causal attention pattern of one head on one sequence for query rows <c>[r0, r0 + rows)</c>: their
    /// <see cref="Scores"/>, then the softmax of each row over the keys it may see (the keys after it, up to the block's
    /// last row, set to zero; later ones are not written) in <paramref name="pattern"/> (row <c>i</c> at <c>i · ld</c>).
    /// </summary>
    public static void CausalPatternRows(
        IGemmBackend gemm, ReadOnlySpan<float> q, ReadOnlySpan<float> k, int stride, int dHead, int r0, int rows, Span<float> pattern, int ld)
    {
        var keys = r0 + rows;
        Scores(gemm, q, k, stride, dHead, r0, rows, pattern, ld);
        for (var i = 0; i < rows; i++)
        {
            var row = pattern.Slice(i * ld, keys);
            Ops.SoftmaxRows(row[..(r0 + i + 1)], r0 + i + 1);
            row[(r0 + i + 1)..].Clear();
        }
    }

    /// <summary>
    /// The attention of one query row <paramref name="q"/> of one head on the first <paramref name="keys"/> keys (a
    /// sequence's last query, which the causal mask lets see them all): <c>z = softmax(q kᵀ / sqrt(d_head)) · v</c>, with
    /// <paramref name="pattern"/> (<paramref name="keys"/> floats) as room for the pattern row. <paramref name="k"/>,
    /// <paramref name="v"/> start at the head's first element of the sequence, a row every <paramref name="stride"/>.
    /// </summary>
    public static void AttentionRow(
        IGemmBackend gemm, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> z, int stride, int dHead,
        int keys, Span<float> pattern)
    {
        gemm.Sgemm(false, true, 1, keys, dHead, 1f / MathF.Sqrt(dHead), q, stride, k, stride, 0f, pattern, keys);
        Ops.SoftmaxRows(pattern, keys);
        gemm.Sgemm(false, false, 1, dHead, keys, 1f, pattern, keys, v, stride, 0f, z, stride);
    }

    /// <summary>
    /// The attention scores <c>q kᵀ / sqrt(d_head)</c> of query rows <c>[r0, r0 + rows)</c> against keys
    /// <c>0 … r0 + rows − 1</c> into <paramref name="scores"/> (row <c>i</c> at <c>i · ld</c>); the keys after that are
    /// not written. <paramref name="q"/> and <paramref name="k"/> start at the head's first element of the sequence,
    /// a row every <paramref name="stride"/>.
    /// </summary>
    public static void Scores(
        IGemmBackend gemm, ReadOnlySpan<float> q, ReadOnlySpan<float> k, int stride, int dHead, int r0, int rows, Span<float> scores, int ld) =>
        gemm.Sgemm(false, true, rows, r0 + rows, dHead, 1f / MathF.Sqrt(dHead), q[(r0 * stride)..], stride, k, stride, 0f, scores, ld);

    /// <summary>
    /// <c>z = pattern · v</c> for query rows <c>[r0, r0 + rows)</c>, reading the first <paramref name="keys"/> columns of
    /// <paramref name="pattern"/> (row <c>i</c> at <c>i · ld</c>); <paramref name="v"/> and <paramref name="z"/> start at the
    /// head's first element of the sequence, a row every <paramref name="stride"/>.
    /// </summary>
    public static void Mix(
        IGemmBackend gemm, ReadOnlySpan<float> pattern, int ld, ReadOnlySpan<float> v, Span<float> z, int stride, int dHead,
        int r0, int rows, int keys) =>
        gemm.Sgemm(false, false, rows, dHead, keys, 1f, pattern, ld, v, stride, 0f, z[(r0 * stride)..], stride);
}
