using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CircuitDsl.Tensors;

/// <summary>
/// Keeping a memory-mapped weights file out of the resident set while it is not being read. A page of the mapping,
/// once touched, counts in the process's memory for as long as it stays mapped — and the page cache hands out a file
/// in large pieces (a read of one float mapped a whole megabyte here), so reading a few rows of <c>W_E</c>, or scanning
/// every weight once, would otherwise hold the whole file. A page still the file's own can be dropped from the mapping
/// (<c>madvise(MADV_DONTNEED)</c>) and faults back in from the page cache when read again, at the cost of a minor
/// fault; a page written since mapping (a copy-on-write copy) holds data of its own and is never dropped.
/// </summary>
internal static class ResidentPages
{
    private const int MadviseDontNeed = 4;

    /// <summary>How much of a matrix a gather passes before it releases what is behind it.</summary>
    private const long GatherReleaseBytes = 4L << 20;

    /// <summary>
    /// Drops from this process's memory the pages of <paramref name="memory"/> that are still a file's own, when it is
    /// not a managed array (a view of a mapped file; arrays and a <see cref="DeferredMatrix"/> return at once, the
    /// latter not computed). Pages written since mapping are kept, and
    /// where <c>/proc/self/pagemap</c> cannot be read nothing is dropped. A hint: off Linux, nothing changes. No other
    /// thread may write into <paramref name="memory"/> meanwhile.
    /// </summary>
    public static unsafe void Release(Memory<float> memory)
    {
        if (memory.IsEmpty || MemoryMarshal.TryGetArray<float>(memory, out _) || DeferredMatrix.Owns(memory))
        {
            return;
        }

        using var pin = memory.Pin();
        ReleaseFilePages(pin.Pointer, memory.Length * (long)sizeof(float));
    }

    /// <summary>
    /// Copies row <c>rows[i]</c> of the row-major <paramref name="matrix"/> (rows of <paramref name="width"/>) to row
    /// <c>i</c> of <paramref name="destination"/>. When the matrix is a mapped file (the embedding of a loaded model) the
    /// rows are read in ascending order and what has been passed is released every few megabytes, and the whole matrix
    /// at the end (<see cref="Release"/>), so gathering a thousand tokens' rows never holds all of <c>W_E</c>.
    /// </summary>
    public static void GatherRows(Memory<float> matrix, int width, ReadOnlySpan<int> rows, Span<float> destination)
    {
        var source = matrix.Span;
        if (MemoryMarshal.TryGetArray<float>(matrix, out _))
        {
            for (var i = 0; i < rows.Length; i++)
            {
                source.Slice(rows[i] * width, width).CopyTo(destination.Slice(i * width, width));
            }

            return;
        }

        var order = ArrayPool<int>.Shared.Rent(rows.Length);
        var keys = ArrayPool<int>.Shared.Rent(rows.Length);
        try
        {
            rows.CopyTo(keys);
            for (var i = 0; i < rows.Length; i++)
            {
                order[i] = i;
            }

            Array.Sort(keys, order, 0, rows.Length);
            var rowsPerRelease = (int)Math.Max(1, GatherReleaseBytes / (width * (long)sizeof(float)));
            var released = 0;
            for (var k = 0; k < rows.Length; k++)
            {
                var row = keys[k];
                if (row - released >= rowsPerRelease)
                {
                    Release(matrix.Slice(released * width, (row - released) * width));
                    released = row;
                }

                source.Slice(row * width, width).CopyTo(destination.Slice(order[k] * width, width));
            }

            Release(matrix);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<int>.Shared.Return(keys);
        }
    }

    private static unsafe void ReleaseFilePages(void* start, long bytes)
    {
        var first = ((long)start + HugePages.PageSize - 1) & ~(HugePages.PageSize - 1);
        var end = ((long)start + bytes) & ~(HugePages.PageSize - 1);
        if (end <= first || PageMap.Handle is not { } pagemap)
        {
            return;
        }

        const int Batch = 512;
        Span<ulong> entries = stackalloc ulong[Batch];
        long run = -1;
        for (var page = first; page < end; page += Batch * HugePages.PageSize)
        {
            var count = (int)Math.Min(Batch, (end - page) / HugePages.PageSize);
            if (RandomAccess.Read(pagemap, MemoryMarshal.AsBytes(entries[..count]), page / HugePages.PageSize * sizeof(ulong)) != count * sizeof(ulong))
            {
                return;
            }

            for (var i = 0; i < count; i++)
            {
                var address = page + (i * HugePages.PageSize);
                if (!PageMap.HoldsOwnData(entries[i]))
                {
                    run = run < 0 ? address : run;
                }
                else if (run >= 0)
                {
                    if (!HugePages.Madvise(run, address - run, MadviseDontNeed))
                    {
                        return;
                    }

                    run = -1;
                }
            }
        }

        if (run >= 0)
        {
            HugePages.Madvise(run, end - run, MadviseDontNeed);
        }
    }

    /// <summary><c>/proc/self/pagemap</c>: one 64-bit entry per virtual page of this process, at offset <c>page · 8</c>.</summary>
    private static class PageMap
    {
        private const ulong Present = 1UL << 63;
        private const ulong Swapped = 1UL << 62;
        private const ulong FileOrSharedAnonymous = 1UL << 61;

        /// <summary>The open pagemap, or null where it cannot be read (then nothing is released).</summary>
        public static readonly SafeFileHandle? Handle = Open();

        /// <summary>
        /// Whether dropping the page could lose data: it is present and private anonymous (in a private file mapping,
        /// the copy a write made; any managed or native heap page), or swapped out (only anonymous pages are). A file's
        /// page, or a page never touched, holds nothing the file does not.
        /// </summary>
        public static bool HoldsOwnData(ulong entry) =>
            (entry & Swapped) != 0 || ((entry & Present) != 0 && (entry & FileOrSharedAnonymous) == 0);

        private static SafeFileHandle? Open()
        {
            try
            {
                return OperatingSystem.IsLinux() ? File.OpenHandle("/proc/self/pagemap") : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
