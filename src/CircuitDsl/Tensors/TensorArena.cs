using System.Runtime.InteropServices;

namespace CircuitDsl.Tensors;

/// <summary>
/// Memory for the tensors of passes that run one after another, each read and dropped before the next begins (a
/// patching sweep's batches). A fresh tensor of a few megabytes is otherwise new memory from the garbage collector,
/// which gives it back to the system between collections, so every batch touches it into existence again a page
/// fault at a time; on a 4 × 64-token sweep of a two-layer model that was nearly a third of the sweep's time. The
/// arena keeps the arrays of one batch and hands them to the next: after <see cref="Reset"/> every tensor taken
/// before is invalid, and the caller must not hold on to one. A pass also gives back what one block took and no
/// later stage reads (<see cref="ReleaseSince"/>), so a pass touches one block's memory, not every block's.
/// </summary>
internal sealed class TensorArena
{
    private readonly List<float[]> _free = [];
    private readonly List<float[]> _taken = [];

    /// <summary>A zero-filled tensor of <paramref name="shape"/> in the smallest free array that holds it, or a new one.</summary>
    public Tensor Take(params int[] shape)
    {
        var length = Tensor.CheckedLength(shape);
        var best = -1;
        for (var i = 0; i < _free.Count; i++)
        {
            if (_free[i].Length >= length && (best < 0 || _free[i].Length < _free[best].Length))
            {
                best = i;
            }
        }

        float[] array;
        if (best < 0)
        {
            array = HugePages.Allocate(length);
        }
        else
        {
            array = _free[best];
            _free.RemoveAt(best);
            array.AsSpan(0, length).Clear();
        }

        _taken.Add(array);
        return new Tensor(array.AsMemory(0, length), shape);
    }

    /// <summary>How many arrays are taken: a mark for <see cref="ReleaseSince"/>.</summary>
    public int Taken => _taken.Count;

    /// <summary>
    /// Makes the arrays taken since <paramref name="mark"/> (<see cref="Taken"/> then) free again, except the one
    /// <paramref name="keep"/> lives in: the tensors on them must no longer be used.
    /// </summary>
    public void ReleaseSince(int mark, Tensor keep)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mark, _taken.Count);
        var kept = MemoryMarshal.TryGetArray<float>(keep.Memory, out var segment) ? segment.Array : null;
        for (var i = _taken.Count - 1; i >= mark; i--)
        {
            if (!ReferenceEquals(_taken[i], kept))
            {
                _free.Add(_taken[i]);
                _taken.RemoveAt(i);
            }
        }
    }

    /// <summary>Makes every array taken so far free again: the tensors on them must no longer be used.</summary>
    public void Reset()
    {
        _free.AddRange(_taken);
        _taken.Clear();
    }
}
