using System.Buffers;
using System.Runtime.InteropServices;

namespace CircuitDsl.Tensors;

/// <summary>
/// A matrix <c>[rows, columns]</c> computed from other tensors on first touch, whose blocks of columns can be read
/// without it: the memory of a <see cref="Tensor"/> (<see cref="AsTensor"/>) that computes and keeps the whole matrix
/// the first time its span is taken or it is pinned, while <see cref="ReadColumns"/> (and <see cref="CopyColumns"/> on
/// any tensor) computes only the columns asked for. GPT-2's tied unembedding is one: <c>W_U</c> is <c>W_Eᵀ</c>
/// (<see cref="TransposedMatrix"/>), and after weight processing a folded and centred <c>W_Eᵀ</c>; a reader that needs
/// it only a vocabulary chunk at a time (the copying scores' <c>W_U · W_E</c>) never holds the 147 MB matrix, and
/// products with a transpose (logits, losses, the Gram matrix of the path norms: <see cref="MultiplyColumns"/>,
/// <see cref="Gram"/>) read its source where it is: on GPT-2, <c>loss</c> went 2.0 → 1.4 s and <c>paths</c> 3.4 → 2.7 s
/// when they stopped computing it (tests/benchmarks/README.md, "GPT-2 small").
/// </summary>
/// <remarks>
/// The tensors it is computed from must not be written while it is unmaterialised: what it computes is what they
/// hold when it is read.
/// </remarks>
internal abstract class DeferredMatrix : MemoryManager<float>
{
    /// <summary>Columns computed at a time when the whole matrix is materialised.</summary>
    private const int MaterializeColumns = 4096;

    private readonly Lock _gate = new();
    private volatile float[]? _data;

    protected DeferredMatrix(int rows, int columns)
    {
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The number of rows.</summary>
    public int Rows { get; }

    /// <summary>The number of columns.</summary>
    public int Columns { get; }

    /// <summary>Whether the whole matrix has been computed and is held.</summary>
    public bool IsMaterialized => _data is not null;

    /// <summary>A tensor <c>[rows, columns]</c> over this matrix; nothing is computed until its span is taken.</summary>
    public Tensor AsTensor() => new(Memory, Rows, Columns);

    /// <summary>The matrix's memory, computed when its span is first taken (the base class would take it at once).</summary>
    public override Memory<float> Memory => CreateMemory(Rows * Columns);

    /// <summary>
    /// Columns <c>[start, start + count)</c>, row-major <c>[rows, count]</c>, into <paramref name="destination"/>,
    /// computed without materialising the matrix (or copied from it when it is).
    /// </summary>
    public void ReadColumns(int start, int count, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Rows * count);
        if (_data is { } data)
        {
            Gather(data, Columns, start, count, destination);
        }
        else
        {
            Compute(start, count, destination);
        }
    }

    /// <summary>
    /// Columns <c>[start, start + count)</c> of the matrix <paramref name="matrix"/> <c>[rows, columns]</c> as
    /// <c>[rows, count]</c>: from its <see cref="DeferredMatrix"/> without materialising it when it is one.
    /// </summary>
    public static void CopyColumns(Tensor matrix, int start, int count, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        matrix.RequireRank(2);
        if (Of(matrix.Memory) is { } deferred)
        {
            deferred.ReadColumns(start, count, destination);
            return;
        }

        Gather(matrix.Span, matrix.Dim(1), start, count, destination);
    }

    /// <summary>
    /// Columns <c>[start, start + count)</c> of the matrix <paramref name="matrix"/> <c>[rows, columns]</c> transposed, as
    /// <c>[count, rows]</c>: column <c>j</c> as row <c>j</c>. From a <see cref="DeferredMatrix"/> not yet computed, only
    /// those columns are computed, and one that is a transpose reads its source's rows as they lie, with no transposing.
    /// </summary>
    public static void CopyColumnsTransposed(Tensor matrix, int start, int count, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        matrix.RequireRank(2);
        int rows = matrix.Dim(0), columns = matrix.Dim(1);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, rows * count);
        if (Of(matrix.Memory) is { IsMaterialized: false } deferred)
        {
            deferred.ComputeTransposed(start, count, destination);
            return;
        }

        Tensor.Transpose(matrix.Span[start..], rows, count, columns, destination);
    }

    /// <summary>
    /// Row <c>rows[i]</c> of <paramref name="matrix"/> <c>[n, columns]</c> into row <c>i</c> of <paramref name="destination"/>:
    /// from a <see cref="RowDeferredMatrix"/> not yet computed, only those rows computed; from any other matrix, read
    /// where they are (<see cref="ResidentPages.GatherRows"/>: a mapped file's pages are released behind the reads).
    /// </summary>
    public static void GatherRows(Tensor matrix, ReadOnlySpan<int> rows, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        matrix.RequireRank(2);
        if (Of(matrix.Memory) is RowDeferredMatrix { IsMaterialized: false } deferred)
        {
            deferred.ReadRows(rows, destination);
            return;
        }

        ResidentPages.GatherRows(matrix.Memory, matrix.Dim(1), rows, destination);
    }

    /// <summary>
    /// Rows <c>[start, start + count)</c> of <paramref name="matrix"/> <c>[n, columns]</c> as <c>[count, columns]</c>:
    /// only those rows computed from a <see cref="RowDeferredMatrix"/> not yet computed, copied from any other matrix.
    /// </summary>
    public static void CopyRows(Tensor matrix, int start, int count, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        matrix.RequireRank(2);
        if (Of(matrix.Memory) is RowDeferredMatrix { IsMaterialized: false } deferred)
        {
            deferred.ReadRows(start, count, destination);
            return;
        }

        var width = matrix.Dim(1);
        matrix.Span.Slice(start * width, count * width).CopyTo(destination);
    }

    /// <summary>
    /// <c>c = x · matrix[:, start, start + count) + beta · c</c>, for rows <paramref name="x"/> <c>[rows, k]</c> and the matrix
    /// <paramref name="matrix"/> <c>[k, columns]</c>, into <paramref name="c"/> <c>[rows, count]</c>. A transpose not yet
    /// computed (a tied <c>W_U</c>) is multiplied as the transposed product of its source, read where it is, and stays
    /// uncomputed; any other matrix is read where it is (a deferred one computed first, once).
    /// </summary>
    public static void MultiplyColumns(
        IGemmBackend gemm, int rows, ReadOnlySpan<float> x, Tensor matrix, int start, int count, float beta, Span<float> c)
    {
        ArgumentNullException.ThrowIfNull(gemm);
        ArgumentNullException.ThrowIfNull(matrix);
        matrix.RequireRank(2);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, matrix.Dim(1));
        if (Of(matrix.Memory) is TransposedMatrix { IsMaterialized: false } transpose)
        {
            transpose.Multiply(gemm, rows, x, start, count, beta, c);
            return;
        }

        int k = matrix.Dim(0), columns = matrix.Dim(1);
        var b = matrix.Span[start..];
        Gemm.CheckArguments(false, false, rows, count, k, x.Length, k, b.Length, columns, c.Length, count);
        gemm.Sgemm(false, false, rows, count, k, 1f, x, k, b, columns, beta, c, count);
    }

    /// <summary>
    /// The Gram matrix <c>M Mᵀ</c> <c>[rows, rows]</c> of <paramref name="matrix"/> <c>[rows, columns]</c>; of a transpose
    /// not yet computed, <c>Sᵀ S</c> of its source <c>S</c>, read where it is.
    /// </summary>
    public static Tensor Gram(Tensor matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        matrix.RequireRank(2);
        return Of(matrix.Memory) is TransposedMatrix { IsMaterialized: false } transpose
            ? Gemm.MatMul(transpose.Source, transpose.Source, transA: true)
            : Gemm.MatMul(matrix, matrix, transB: true);
    }

    /// <summary>Whether <paramref name="tensor"/> is a deferred matrix not yet computed (its span would compute it).</summary>
    public static bool IsPending(Tensor tensor) => Of(tensor.Memory) is { IsMaterialized: false };

    /// <summary>Whether <paramref name="memory"/> belongs to a deferred matrix (computed, never a mapped file).</summary>
    public static bool Owns(Memory<float> memory) => MemoryMarshal.TryGetMemoryManager<float, DeferredMatrix>(memory, out _);

    /// <summary>The deferred matrix <paramref name="memory"/> is the whole of, or null (a slice of one is its span's).</summary>
    private static DeferredMatrix? Of(Memory<float> memory) =>
        MemoryMarshal.TryGetMemoryManager<float, DeferredMatrix>(memory, out var deferred, out var start, out var length)
        && start == 0 && length == deferred.Rows * deferred.Columns
            ? deferred
            : null;

    /// <summary>Computes columns <c>[start, start + count)</c> as <c>[rows, count]</c> into <paramref name="destination"/>.</summary>
    protected abstract void Compute(int start, int count, Span<float> destination);

    /// <summary>
    /// Computes columns <c>[start, start + count)</c> transposed, as <c>[count, rows]</c>, into <paramref name="destination"/>:
    /// by default computed as columns, then transposed; a matrix whose columns are rows of something held reads them so.
    /// </summary>
    protected virtual void ComputeTransposed(int start, int count, Span<float> destination)
    {
        var block = new float[Rows * count];
        Compute(start, count, block);
        Tensor.Transpose(block, Rows, count, destination);
    }

    /// <inheritdoc/>
    public override Span<float> GetSpan() => Materialized();

    /// <inheritdoc/>
    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(Materialized(), GCHandleType.Pinned);
        return new MemoryHandle((float*)handle.AddrOfPinnedObject() + elementIndex, handle);
    }

    /// <inheritdoc/>
    public override void Unpin()
    {
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
    }

    private float[] Materialized()
    {
        if (_data is { } data)
        {
            return data;
        }

        lock (_gate)
        {
            if (_data is null)
            {
                var all = HugePages.Allocate(Rows * Columns);
                var block = new float[Rows * Math.Min(MaterializeColumns, Columns)];
                for (var start = 0; start < Columns; start += MaterializeColumns)
                {
                    var count = Math.Min(MaterializeColumns, Columns - start);
                    Compute(start, count, block);
                    Scatter(block, count, all, start);
                }

                _data = all;
            }

            return _data;
        }
    }

    /// <summary>Writes <paramref name="block"/> <c>[rows, count]</c> into columns <c>[start, start + count)</c> of <paramref name="matrix"/>.</summary>
    protected void Scatter(ReadOnlySpan<float> block, int count, Span<float> matrix, int start)
    {
        for (var i = 0; i < Rows; i++)
        {
            block.Slice(i * count, count).CopyTo(matrix.Slice((i * Columns) + start, count));
        }
    }

    private static void Gather(ReadOnlySpan<float> source, int columns, int start, int count, Span<float> destination)
    {
        var rows = source.Length / columns;
        for (var i = 0; i < rows; i++)
        {
            source.Slice((i * columns) + start, count).CopyTo(destination.Slice(i * count, count));
        }
    }
}

/// <summary>
/// A deferred matrix each of whose rows is computed alone, from the same row of a source (a centred <c>W_E</c>): a
/// reader of a few rows (the embedding of a batch's tokens) or of blocks of rows computes only those
/// (<see cref="DeferredMatrix.GatherRows"/>, <see cref="DeferredMatrix.CopyRows"/>); columns, and the whole matrix,
/// are computed from whole rows.
/// </summary>
internal abstract class RowDeferredMatrix(int rows, int columns) : DeferredMatrix(rows, columns)
{
    /// <summary>Rows <c>rows[i]</c> into row <c>i</c> of <paramref name="destination"/>.</summary>
    public abstract void ReadRows(ReadOnlySpan<int> rows, Span<float> destination);

    /// <summary>Rows <c>[start, start + count)</c> as <c>[count, columns]</c> into <paramref name="destination"/>.</summary>
    public abstract void ReadRows(int start, int count, Span<float> destination);

    /// <summary>Rows read at a time when columns are computed.</summary>
    private const int BlockRows = 256;

    /// <inheritdoc/>
    protected override void Compute(int start, int count, Span<float> destination)
    {
        var block = new float[Math.Min(BlockRows, Rows) * Columns];
        for (var first = 0; first < Rows; first += BlockRows)
        {
            var n = Math.Min(BlockRows, Rows - first);
            ReadRows(first, n, block);
            for (var i = 0; i < n; i++)
            {
                block.AsSpan((i * Columns) + start, count).CopyTo(destination.Slice((first + i) * count, count));
            }
        }
    }
}

/// <summary>
/// The transpose <c>[columns, rows]</c> of a matrix <c>[rows, columns]</c> (a tied unembedding: <c>W_U = W_Eᵀ</c>),
/// computed from it on first touch; reading columns reads only the source's rows they come from, and releases those
/// rows' pages when the source is a mapped file (<see cref="ResidentPages.Release"/>).
/// </summary>
internal sealed class TransposedMatrix : DeferredMatrix
{
    /// <summary>The transpose of <paramref name="source"/> <c>[rows, columns]</c>.</summary>
    public TransposedMatrix(Tensor source)
        : base(source.Dim(1), source.Dim(0))
    {
        source.RequireRank(2);
        Source = source;
    }

    /// <summary>The matrix this is the transpose of.</summary>
    public Tensor Source { get; }

    /// <inheritdoc/>
    protected override void Compute(int start, int count, Span<float> destination)
    {
        var k = Source.Dim(1);
        var rows = Source.Memory.Slice(start * k, count * k);
        Tensor.Transpose(rows.Span, count, k, destination);
        ResidentPages.Release(rows);
    }

    /// <inheritdoc/>
    protected override void ComputeTransposed(int start, int count, Span<float> destination)
    {
        var k = Source.Dim(1);
        var rows = Source.Memory.Slice(start * k, count * k);
        rows.Span.CopyTo(destination);
        ResidentPages.Release(rows);
    }

    /// <summary>
    /// <see cref="DeferredMatrix.MultiplyColumns"/> without computing the transpose: its columns are rows of the source,
    /// which the product reads transposed where they are.
    /// </summary>
    public void Multiply(IGemmBackend gemm, int rows, ReadOnlySpan<float> x, int start, int count, float beta, Span<float> c)
    {
        var k = Source.Dim(1);
        var source = Source.Memory.Slice(start * k, count * k);
        Gemm.CheckArguments(false, true, rows, count, k, x.Length, k, source.Length, k, c.Length, count);
        gemm.Sgemm(false, true, rows, count, k, 1f, x, k, source.Span, k, beta, c, count);
    }
}
