using System.Numerics.Tensors;
using CircuitDsl.Model;

namespace CircuitDsl.Weights;

/// <summary>
/// The finiteness scan of a model's weights, which every command runs before it measures anything. It reads every
/// weight once, a few megabytes at a time, and releases what it has read of a memory-mapped file
/// (<see cref="Tensors.ResidentPages.Release"/>): a mapped page stays resident once touched, so without that the scan
/// alone would hold the whole file in the process's memory even when the work after it needs only part of it (the
/// rows of <c>W_E</c> of the tokens at hand). The blocks' weights are the exception: every command runs its tokens
/// through the blocks, reading each of their weights again, so their pages stay rather than fault back in (GPT-2
/// small's 340 MB of block weights: <c>patch</c> 3.37 → 3.19 CPU-s, <c>loss</c> 1.99 → 1.90, peaks the same) — unless
/// the caller is about to rewrite them in place, below.
/// </summary>
internal static class FiniteScan
{
    /// <summary>Floats checked, then released, at a time (4 MB).</summary>
    private const int Chunk = 1 << 20;

    /// <summary>
    /// The first NaN or infinity in <paramref name="weights"/>, in state-dict order, as a sentence naming the tensor and
    /// the flat index of the element; null when every weight is finite. The chunks are checked on every core; the
    /// first bad one in state-dict order is the one named, however the threads interleave.
    /// </summary>
    /// <param name="weights">The weights to check.</param>
    /// <param name="rewritesBlocks">
    /// Whether the caller will next write the blocks' weights in place (weight processing on a copy-on-write mapping):
    /// then their pages are released as well. A write to a page this process has mapped must first take the read-only
    /// mapping away from every core that may hold it, an interrupt to the other cores per 4 KB page; a write to a page
    /// not mapped takes its private copy at once. GPT-2 small's <c>inspect</c> (250 MB of rewritten pages), cold, alternating
    /// (n = 3): 3.82–4.03 → 3.61–3.72 s, system time 0.9–1.3 → 0.7–0.8 s.
    /// </param>
    public static string? FindNonFinite(TransformerWeights weights, bool rewritesBlocks = false)
    {
        var chunks = new List<(string Name, Memory<float> Memory, int Start, bool Release)>();
        foreach (var (name, tensor) in weights.ToStateDict())
        {
            // A matrix not yet computed (a tied W_U, W_Eᵀ) holds only what the tensors it is computed from hold.
            if (Tensors.DeferredMatrix.IsPending(tensor))
            {
                continue;
            }

            var memory = tensor.Memory;
            var release = rewritesBlocks || !name.StartsWith("blocks.", StringComparison.Ordinal);
            for (var start = 0; start < memory.Length; start += Chunk)
            {
                chunks.Add((name, memory.Slice(start, Math.Min(Chunk, memory.Length - start)), start, release));
            }
        }

        // Break (not Stop): every chunk before a bad one is still checked, so the lowest bad chunk is the first.
        var scan = Parallel.For(0, chunks.Count, (c, loop) =>
        {
            var part = chunks[c].Memory;
            if (!TensorPrimitives.IsFiniteAll<float>(part.Span))
            {
                loop.Break();
                return;
            }

            if (chunks[c].Release)
            {
                Tensors.ResidentPages.Release(part);
            }
        });
        if (scan.LowestBreakIteration is not { } bad)
        {
            // A page fault maps the file's pages around the faulting one too, so one thread's reads can map again pages
            // of a chunk another thread has just released: one more pass releases those (a page already gone costs a
            // look at the page map, not a read).
            foreach (var (_, memory, _, release) in chunks)
            {
                if (release)
                {
                    Tensors.ResidentPages.Release(memory);
                }
            }

            return null;
        }

        var (badName, badPart, badStart, _) = chunks[(int)bad];
        var span = badPart.Span;
        var i = FirstNonFinite(span);
        return $"tensor '{badName}' contains {span[i]} at flat index {badStart + i}; no score on these weights means anything.";
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
