using CircuitDsl.Model;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;

namespace CircuitDsl.Circuits;

/// <summary>
/// The circuits of individual heads and of paths through them (Elhage et al. 2021), as
/// <see cref="FactoredMatrix"/> values under TransformerLens's names. Row-vector convention: a residual
/// vector <c>x</c> is read as <c>x · W</c>. Nothing here forms a d_vocab × d_vocab matrix.
/// </summary>
/// <remarks>
/// The token-level terms (<see cref="FullOV"/>, <see cref="FullQK"/>, <see cref="VirtualOV"/>,
/// <see cref="QkExpansion"/>) follow the paper's analysis of attention-only models without LayerNorm: the
/// residual stream is the embedding plus the heads' outputs, positional embeddings are left out of the token
/// terms (they have their own term, <see cref="PositionalQK"/>), and biases are ignored. On a model with
/// LayerNorm they describe the weights, not exactly the model; fold and centre the weights first
/// (<see cref="WeightProcessing.Apply"/>) to get TransformerLens's view of them.
/// </remarks>
public static class HeadCircuits
{
    /// <summary><c>W_QK = W_Q · W_Kᵀ</c> <c>[d_model, d_model]</c>: the bilinear form of the attention score.</summary>
    public static FactoredMatrix W_QK(TransformerWeights weights, HeadId head)
    {
        var b = Block(weights, head);
        return new FactoredMatrix(Head(b.W_Q, head), Head(b.W_K, head).Transpose());
    }

    /// <summary><c>W_OV = W_V · W_O</c> <c>[d_model, d_model]</c>: what the head writes for what it attends to.</summary>
    public static FactoredMatrix W_OV(TransformerWeights weights, HeadId head)
    {
        var b = Block(weights, head);
        return new FactoredMatrix(Head(b.W_V, head), Head(b.W_O, head));
    }

    /// <summary>The full OV circuit <c>W_E · W_OV · W_U</c> <c>[source token, output logit]</c>, rank ≤ d_head.</summary>
    public static FactoredMatrix FullOV(TransformerWeights weights, HeadId head)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var b = Block(weights, head);
        return new FactoredMatrix(Embedded(weights, b.W_V, head), Head(b.W_O, head) * Unembed(weights));
    }

    /// <summary>The full QK circuit <c>W_E · W_QK · W_Eᵀ</c> <c>[query token, key token]</c>, rank ≤ d_head.</summary>
    public static FactoredMatrix FullQK(TransformerWeights weights, HeadId head)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var b = Block(weights, head);
        return new FactoredMatrix(Embedded(weights, b.W_Q, head), Embedded(weights, b.W_K, head).Transpose());
    }

    /// <summary>The positional QK circuit <c>W_pos · W_QK · W_posᵀ</c> <c>[query position, key position]</c>.</summary>
    public static FactoredMatrix PositionalQK(TransformerWeights weights, HeadId head)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var b = Block(weights, head);
        var pos = FactoredMatrix.ToMatrix(weights.W_pos);
        return new FactoredMatrix(pos * Head(b.W_Q, head), (pos * Head(b.W_K, head)).Transpose());
    }

    /// <summary>The direct path <c>W_E · W_U</c> <c>[token, next-token logit]</c>: the bigram table, rank ≤ d_model.</summary>
    public static FactoredMatrix DirectPath(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return new FactoredMatrix(FactoredMatrix.ToMatrix(weights.W_E), Unembed(weights));
    }

    /// <summary>
    /// The virtual head's OV circuit <c>W_E · W_OV(first) · W_OV(second) · W_U</c>: what <paramref name="second"/>
    /// writes to the logits when it attends to where <paramref name="first"/> wrote. <paramref name="first"/> must
    /// be in an earlier layer.
    /// </summary>
    public static FactoredMatrix VirtualOV(TransformerWeights weights, HeadId first, HeadId second)
    {
        ArgumentNullException.ThrowIfNull(weights);
        RequireEarlier(first, second);
        var b1 = Block(weights, first);
        var b2 = Block(weights, second);
        var middle = Head(b1.W_O, first) * Head(b2.W_V, second) * Head(b2.W_O, second) * Unembed(weights);
        return new FactoredMatrix(Embedded(weights, b1.W_V, first), middle);
    }

    /// <summary>
    /// The terms of a later head's token-level QK circuit in an attention-only model (the paper's 2-layer
    /// expansion): the query and key residual vectors are each the token embedding plus what earlier heads
    /// wrote, so <c>x_q · W_QK · x_kᵀ</c> splits into the terms of <see cref="QkExpansion"/>.
    /// </summary>
    public static QkExpansion QkExpansion(TransformerWeights weights, HeadId head)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Block(weights, head);
        return new QkExpansion(weights, head);
    }

    /// <summary>Throws unless <paramref name="first"/> is in an earlier layer than <paramref name="second"/>.</summary>
    internal static void RequireEarlier(HeadId first, HeadId second)
    {
        if (first.Layer >= second.Layer)
        {
            throw new ArgumentException(
                $"Head {first} must be in an earlier layer than head {second} for one to read what the other wrote.",
                nameof(first));
        }
    }

    /// <summary>The block of <paramref name="head"/>, with a clear error for an id outside the model.</summary>
    internal static BlockWeights Block(TransformerWeights weights, HeadId head)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        if (head.Layer < 0 || head.Layer >= c.NLayers || head.Head < 0 || head.Head >= c.NHeads)
        {
            throw new ArgumentOutOfRangeException(
                nameof(head), $"Head {head} is outside the model ({c.NLayers} layers × {c.NHeads} heads).");
        }

        return weights.Blocks[head.Layer];
    }

    /// <summary>One head's slice <c>[d_model, d_head]</c> or <c>[d_head, d_model]</c> of a stacked weight, as doubles.</summary>
    internal static Matrix<double> Head(Tensor stacked, HeadId head) => FactoredMatrix.ToMatrix(stacked[head.Head]);

    /// <summary><c>W_E · W_X[head]</c> <c>[d_vocab, d_head]</c>, multiplied in float on the kernel seam and widened.</summary>
    internal static Matrix<double> Embedded(TransformerWeights weights, Tensor stacked, HeadId head) =>
        FactoredMatrix.ToMatrix(Gemm.MatMul(weights.W_E, stacked[head.Head]));

    private static Matrix<double> Unembed(TransformerWeights weights) => FactoredMatrix.ToMatrix(weights.W_U);
}

/// <summary>
/// The expansion of a head's token-level QK circuit in an attention-only model without LayerNorm
/// (Elhage et al. 2021, two-layer models): with <c>x = e + Σ_h A^h e W_OV^h</c> on both the query and the key
/// side, <c>x_q W_QK x_kᵀ</c> is the sum of a direct term, one Q-composition term and one K-composition term per
/// earlier head, and one cross term per pair of earlier heads. Each term is the <c>[d_vocab, d_vocab]</c>
/// token matrix that the earlier heads' attention patterns then mix; positional embeddings and biases are left out.
/// </summary>
public sealed class QkExpansion
{
    private readonly TransformerWeights _weights;

    internal QkExpansion(TransformerWeights weights, HeadId head)
    {
        _weights = weights;
        Head = head;
    }

    /// <summary>The later head whose QK circuit is expanded.</summary>
    public HeadId Head { get; }

    /// <summary>Direct term <c>W_E · W_QK · W_Eᵀ</c>: query token against key token.</summary>
    public FactoredMatrix Direct() => HeadCircuits.FullQK(_weights, Head);

    /// <summary>
    /// Q-composition term <c>W_E · W_OV(earlier) · W_QK · W_Eᵀ</c>: the token <paramref name="earlier"/> moved
    /// into the query position, against the key token.
    /// </summary>
    public FactoredMatrix QComposition(HeadId earlier)
    {
        HeadCircuits.RequireEarlier(earlier, Head);
        var b1 = HeadCircuits.Block(_weights, earlier);
        var b2 = HeadCircuits.Block(_weights, Head);
        var right = HeadCircuits.Head(b1.W_O, earlier) * HeadCircuits.Head(b2.W_Q, Head)
            * HeadCircuits.Embedded(_weights, b2.W_K, Head).Transpose();
        return new FactoredMatrix(HeadCircuits.Embedded(_weights, b1.W_V, earlier), right);
    }

    /// <summary>
    /// K-composition term <c>W_E · W_QK · (W_E · W_OV(earlier))ᵀ</c>: the query token, against the token
    /// <paramref name="earlier"/> moved into the key position.
    /// </summary>
    public FactoredMatrix KComposition(HeadId earlier) => KSide(HeadCircuits.Embedded(_weights, HeadCircuits.Block(_weights, Head).W_Q, Head), earlier);

    /// <summary>
    /// Cross term <c>W_E · W_OV(queryHead) · W_QK · (W_E · W_OV(keyHead))ᵀ</c>: tokens moved by earlier heads into
    /// both the query and the key position.
    /// </summary>
    public FactoredMatrix Cross(HeadId queryHead, HeadId keyHead)
    {
        HeadCircuits.RequireEarlier(queryHead, Head);
        var b1 = HeadCircuits.Block(_weights, queryHead);
        var b2 = HeadCircuits.Block(_weights, Head);
        var left = HeadCircuits.Embedded(_weights, b1.W_V, queryHead) * HeadCircuits.Head(b1.W_O, queryHead)
            * HeadCircuits.Head(b2.W_Q, Head);
        return KSide(left, keyHead);
    }

    /// <summary><c>left · W_Kᵀ · W_O(earlier)ᵀ · (W_E W_V(earlier))ᵀ</c> with <paramref name="left"/> <c>[d_vocab, d_head]</c>.</summary>
    private FactoredMatrix KSide(Matrix<double> left, HeadId earlier)
    {
        HeadCircuits.RequireEarlier(earlier, Head);
        var b1 = HeadCircuits.Block(_weights, earlier);
        var b2 = HeadCircuits.Block(_weights, Head);
        var right = HeadCircuits.Head(b2.W_K, Head).Transpose() * HeadCircuits.Head(b1.W_O, earlier).Transpose()
            * HeadCircuits.Embedded(_weights, b1.W_V, earlier).Transpose();
        return new FactoredMatrix(left, right);
    }
}
