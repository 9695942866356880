using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace CircuitDsl.Tensors;

/// <summary>
/// A dense, row-major tensor of <see cref="float"/>. It either owns a heap array or views memory it does
/// not own (a memory-mapped weights file, a slice of another tensor) without copying it.
/// </summary>
/// <remarks>
/// Deliberately small: a shape and a <see cref="Memory{T}"/>. Views along the first axis
/// (<see cref="this[int]"/>) and reshapes share memory; everything else that changes the layout copies.
/// The heavy lifting is in <see cref="Gemm"/> and <see cref="Ops"/>, the runtime's kernel seam.
/// </remarks>
public sealed class Tensor
{
    private readonly int[] _shape;

    /// <summary>A new zero-filled tensor of the given shape.</summary>
    public Tensor(params int[] shape)
        : this(HugePages.Allocate(CheckedLength(shape)), shape)
    {
    }

    /// <summary>Views <paramref name="data"/> with the given shape; the memory is not copied.</summary>
    public Tensor(Memory<float> data, params int[] shape)
    {
        var length = CheckedLength(shape);
        if (data.Length != length)
        {
            throw new ArgumentException(
                $"Shape {FormatShape(shape)} needs {length} elements but the data has {data.Length}.", nameof(data));
        }

        Memory = data;
        _shape = (int[])shape.Clone();
    }

    /// <summary>The shape, outermost axis first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => Memory.Length;

    /// <summary>The elements in row-major order.</summary>
    public Memory<float> Memory { get; }

    /// <summary>The elements in row-major order.</summary>
    public Span<float> Span => Memory.Span;

    /// <summary>Size of axis <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => _shape[axis < 0 ? _shape.Length + axis : axis];

    /// <summary>The view of the <paramref name="index"/>-th slice along the first axis (no copy).</summary>
    public Tensor this[int index]
    {
        get
        {
            if (Rank == 0)
            {
                throw new InvalidOperationException("A scalar tensor has no slices.");
            }

            if ((uint)index >= (uint)_shape[0])
            {
                throw new ArgumentOutOfRangeException(
                    nameof(index), $"Index {index} is outside axis 0 of a tensor of shape {FormatShape(_shape)}.");
            }

            var inner = _shape.AsSpan(1).ToArray();
            var size = Length / _shape[0];
            return new Tensor(Memory.Slice(index * size, size), inner);
        }
    }

    /// <summary>The element at row <paramref name="i"/>, column <paramref name="j"/> of a matrix.</summary>
    public float this[int i, int j]
    {
        get => Span[Offset2(i, j)];
        set => Span[Offset2(i, j)] = value;
    }

    /// <summary>The element at <paramref name="i"/>, <paramref name="j"/>, <paramref name="k"/> of a 3-tensor.</summary>
    public float this[int i, int j, int k]
    {
        get => Span[Offset3(i, j, k)];
        set => Span[Offset3(i, j, k)] = value;
    }

    /// <summary>A view of the same memory with another shape of the same length.</summary>
    public Tensor Reshape(params int[] shape) => new(Memory, shape);

    /// <summary>A deep copy that owns its memory.</summary>
    public Tensor Clone() => new(Span.ToArray(), _shape);

    /// <summary>
    /// The slice at <paramref name="index"/> along <paramref name="axis"/>, as a new tensor without that axis: on a
    /// <c>[batch, n_heads, q, k]</c> pattern, <c>Select(1, h)</c> is head <c>h</c>'s <c>[batch, q, k]</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The axis or the index is outside this tensor's shape.</exception>
    public Tensor Select(int axis, int index)
    {
        if ((uint)axis >= (uint)Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is outside a tensor of shape {FormatShape(_shape)}.");
        }

        if ((uint)index >= (uint)_shape[axis])
        {
            throw new ArgumentOutOfRangeException(
                nameof(index), $"Index {index} is outside axis {axis} of a tensor of shape {FormatShape(_shape)}.");
        }

        int outer = 1, inner = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= _shape[i];
        }

        for (var i = axis + 1; i < Rank; i++)
        {
            inner *= _shape[i];
        }

        var result = new Tensor([.. _shape[..axis], .. _shape[(axis + 1)..]]);
        var source = Span;
        var target = result.Span;
        for (var o = 0; o < outer; o++)
        {
            source.Slice(((o * _shape[axis]) + index) * inner, inner).CopyTo(target.Slice(o * inner, inner));
        }

        return result;
    }

    /// <summary>A matrix from rows of equal length.</summary>
    public static Tensor FromRows(float[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var cols = rows.Length == 0 ? 0 : rows[0].Length;
        var t = new Tensor(rows.Length, cols);
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != cols)
            {
                throw new ArgumentException($"Row {i} has {rows[i].Length} elements; row 0 has {cols}.", nameof(rows));
            }

            rows[i].CopyTo(t.Span.Slice(i * cols, cols));
        }

        return t;
    }

    /// <summary>The transpose of a matrix, as a new tensor.</summary>
    public Tensor Transpose()
    {
        RequireRank(2);
        int rows = _shape[0], cols = _shape[1];
        var result = new Tensor(cols, rows);
        Transpose(Span, rows, cols, result.Span);
        return result;
    }

    /// <summary>Writes the transpose <c>[cols, rows]</c> of the row-major <paramref name="src"/> <c>[rows, cols]</c> into <paramref name="dst"/>.</summary>
    internal static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst) =>
        Transpose(src, rows, cols, cols, dst);

    /// <summary>
    /// Writes the transpose <c>[cols, rows]</c> of the row-major <paramref name="src"/> <c>[rows, cols]</c>, whose rows
    /// lie <paramref name="stride"/> floats apart (a block of columns of a wider matrix), into <paramref name="dst"/>.
    /// </summary>
    internal static unsafe void Transpose(ReadOnlySpan<float> src, int rows, int cols, int stride, Span<float> dst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, cols);
        ArgumentOutOfRangeException.ThrowIfLessThan(src.Length, rows == 0 ? 0 : ((rows - 1) * (long)stride) + cols);
        ArgumentOutOfRangeException.ThrowIfLessThan(dst.Length, rows * cols);

        // Square blocks, so both the rows read and the rows written stay in cache on large matrices; inside them,
        // 8 × 8 tiles in AVX registers where the machine has AVX, one element at a time at the edges.
        const int block = 32, tile = 8;
        var tiles = Avx.IsSupported;
        fixed (float* s = src, d = dst)
        {
            for (var i0 = 0; i0 < rows; i0 += block)
            {
                var iEnd = Math.Min(rows, i0 + block);
                for (var j0 = 0; j0 < cols; j0 += block)
                {
                    var jEnd = Math.Min(cols, j0 + block);
                    var i = i0;
                    for (; tiles && i + tile <= iEnd; i += tile)
                    {
                        var j = j0;
                        for (; j + tile <= jEnd; j += tile)
                        {
                            Transpose8x8(s + ((long)i * stride) + j, stride, d + ((long)j * rows) + i, rows);
                        }

                        for (var r = i; r < i + tile; r++)
                        {
                            for (var c = j; c < jEnd; c++)
                            {
                                d[((long)c * rows) + r] = s[((long)r * stride) + c];
                            }
                        }
                    }

                    for (; i < iEnd; i++)
                    {
                        for (var j = j0; j < jEnd; j++)
                        {
                            d[((long)j * rows) + i] = s[((long)i * stride) + j];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Rows <c>i</c> of 8 floats at <c>src + i · srcStride</c> as columns <c>i</c> of rows at <c>dst + q · dstStride</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
    {
        var t0 = Avx.UnpackLow(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride));
        var t1 = Avx.UnpackHigh(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride));
        var t2 = Avx.UnpackLow(Avx.LoadVector256(src + (2 * srcStride)), Avx.LoadVector256(src + (3 * srcStride)));
        var t3 = Avx.UnpackHigh(Avx.LoadVector256(src + (2 * srcStride)), Avx.LoadVector256(src + (3 * srcStride)));
        var t4 = Avx.UnpackLow(Avx.LoadVector256(src + (4 * srcStride)), Avx.LoadVector256(src + (5 * srcStride)));
        var t5 = Avx.UnpackHigh(Avx.LoadVector256(src + (4 * srcStride)), Avx.LoadVector256(src + (5 * srcStride)));
        var t6 = Avx.UnpackLow(Avx.LoadVector256(src + (6 * srcStride)), Avx.LoadVector256(src + (7 * srcStride)));
        var t7 = Avx.UnpackHigh(Avx.LoadVector256(src + (6 * srcStride)), Avx.LoadVector256(src + (7 * srcStride)));
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + (2 * dstStride), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + (3 * dstStride), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + (4 * dstStride), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + (5 * dstStride), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + (6 * dstStride), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + (7 * dstStride), Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Throws unless this tensor has exactly <paramref name="rank"/> axes.</summary>
    public void RequireRank(int rank)
    {
        if (Rank != rank)
        {
            throw new InvalidOperationException($"Expected a rank-{rank} tensor, got shape {FormatShape(_shape)}.");
        }
    }

    /// <summary>Whether this tensor has exactly the given shape.</summary>
    public bool HasShape(params int[] shape) => _shape.AsSpan().SequenceEqual(shape);

    /// <summary>A shape as <c>[2, 64, 16]</c>, the way error messages print it.</summary>
    public static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i]);
        }

        return sb.Append(']').ToString();
    }

    /// <inheritdoc />
    public override string ToString() => $"Tensor{FormatShape(_shape)}";

    internal static int CheckedLength(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long length = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape {FormatShape(shape)} has a negative size.", nameof(shape));
            }

            length *= d;
            if (length > Array.MaxLength)
            {
                throw new ArgumentException($"Shape {FormatShape(shape)} is too large for one tensor.", nameof(shape));
            }
        }

        return (int)length;
    }

    private int Offset2(int i, int j)
    {
        RequireRank(2);
        if ((uint)i >= (uint)_shape[0] || (uint)j >= (uint)_shape[1])
        {
            throw new ArgumentOutOfRangeException(nameof(i), $"[{i}, {j}] is outside {FormatShape(_shape)}.");
        }

        return (i * _shape[1]) + j;
    }

    private int Offset3(int i, int j, int k)
    {
        RequireRank(3);
        if ((uint)i >= (uint)_shape[0] || (uint)j >= (uint)_shape[1] || (uint)k >= (uint)_shape[2])
        {
            throw new ArgumentOutOfRangeException(nameof(i), $"[{i}, {j}, {k}] is outside {FormatShape(_shape)}.");
        }

        return (((i * _shape[1]) + j) * _shape[2]) + k;
    }
}
