using System.Numerics.Tensors;
using CircuitDsl.Model;

namespace CircuitDsl.Weights;

/// <summary>
/// The finiteness scan of a model's weights, which every command runs before it measures anything. It reads every
/// weight once, a few megabytes at a time, and releases what it has read of a memory-mapped file
/// (<see cref="Tensors.ResidentPages.Release"/>): a mapped page stays resident once touched, so without that the scan
/// alone would hold the whole file in the process's memory even when the work after it needs only part of it (the
/// rows of <c>W_E</c> of the tokens at hand).
/// </summary>
internal static class FiniteScan
{
    /// <summary>Floats checked, then released, at a time (4 MB).</summary>
    private const int Chunk = 1 << 20;

    /// <summary>
    /// The first NaN or infinity in <paramref name="weights"/>, in state-dict order, as a sentence naming the tensor and
    /// the flat index of the element; null when every weight is finite.
    /// </summary>
    public static string? FindNonFinite(TransformerWeights weights)
    {
        foreach (var (name, tensor) in weights.ToStateDict())
        {
            // A matrix not yet computed (a tied W_U, W_Eᵀ) holds only what the tensors it is computed from hold.
            if (Tensors.DeferredMatrix.IsPending(tensor))
            {
                continue;
            }

            var memory = tensor.Memory;
            for (var start = 0; start < memory.Length; start += Chunk)
            {
                var part = memory.Slice(start, Math.Min(Chunk, memory.Length - start));
                var span = part.Span;
                if (!TensorPrimitives.IsFiniteAll<float>(span))
                {
                    var i = FirstNonFinite(span);
                    return $"tensor '{name}' contains {span[i]} at flat index {start + i}; no score on these weights means anything.";
                }

                Tensors.ResidentPages.Release(part);
            }
        }

        return null;
    }

    private static int FirstNonFinite(ReadOnlySpan<float> span)
    {
        var i = 0;
        while (float.IsFinite(span[i]))
        {
            i++;
        }

        return i;
    }
}
