using System.Buffers;

namespace CircuitDsl.Weights;

/// <summary>
/// The floats of one tensor inside a memory-mapped weights file, exposed as <see cref="Memory{T}"/> without
/// copying them. The mapping belongs to <see cref="SafetensorsFile"/>; once that is disposed, asking this
/// memory for a span throws <see cref="ObjectDisposedException"/> instead of reading unmapped pages.
/// </summary>
internal sealed unsafe class MappedFloatMemory : MemoryManager<float>
{
    private readonly SafetensorsFile _owner;
    private readonly float* _pointer;
    private readonly int _length;

    /// <summary>Views <paramref name="length"/> floats at <paramref name="pointer"/>, which must be 4-byte aligned.</summary>
    public MappedFloatMemory(SafetensorsFile owner, float* pointer, int length)
    {
        _owner = owner;
        _pointer = pointer;
        _length = length;
    }

    /// <inheritdoc />
    public override Span<float> GetSpan()
    {
        _owner.ThrowIfDisposed();
        return new Span<float>(_pointer, _length);
    }

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        _owner.ThrowIfDisposed();
        if ((uint)elementIndex > (uint)_length)
        {
            throw new ArgumentOutOfRangeException(nameof(elementIndex));
        }

        // Mapped pages never move, so pinning is a no-op.
        return new MemoryHandle(_pointer + elementIndex);
    }

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        // The mapping is released by the owning file, not per tensor.
    }
}
