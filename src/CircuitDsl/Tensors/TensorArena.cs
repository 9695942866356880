namespace CircuitDsl.Tensors;

/// <summary>
/// Memory for the tensors of passes that run one after another, each read and dropped before the next begins (a
/// patching sweep's batches). A fresh tensor of a few megabytes is otherwise new memory from the garbage collector,
/// which gives it back to the system between collections, so every batch touches it into existence again a page
/// fault at a time; on a 4 × 64-token sweep of a two-layer model that was nearly a third of the sweep's time. The
/// arena keeps the arrays of one batch and hands them to the next: after <see cref="Reset"/> every tensor taken
/// before is invalid, and the caller must not hold on to one.
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

    /// <summary>Makes every array taken so far free again: the tensors on them must no longer be used.</summary>
    public void Reset()
    {
        _free.AddRange(_taken);
        _taken.Clear();
    }
}
