using System.Runtime.InteropServices;

namespace CircuitDsl.Tensors;

/// <summary>
/// Large tensors on transparent huge pages. A fresh 790 MB logits array is otherwise touched into existence one 4 KB
/// page fault at a time — about 190,000 faults, measured at 0.4 s of a 2 s forward pass — while with
/// <c>madvise(MADV_HUGEPAGE)</c> the kernel maps it in 2 MB pages (a few hundred faults). A hint only: where Linux's
/// <c>transparent_hugepage</c> setting is <c>never</c>, or off Linux, or without glibc, nothing changes.
/// </summary>
internal static partial class HugePages
{
    /// <summary>Arrays from this size up are advised: below it the faults are few and a huge page could waste memory.</summary>
    private const long MinimumBytes = 8L << 20;

    private const int MadviseHugePage = 14;
    private const int MadviseDontNeed = 4;
    private const int MadvisePopulateWrite = 23;

    /// <summary>Below this size <see cref="PrepareWrites"/> saves too few faults to be worth a system call.</summary>
    private const long MinimumPrepareBytes = 1L << 20;
    private const long PageSize = 4096;

    private static volatile bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>
    /// A zero-filled array of <paramref name="length"/> floats, advised to huge pages when large. The garbage collector
    /// hands out fresh memory untouched (it is known to be zero), so the advice lands before the first fault.
    /// </summary>
    public static float[] Allocate(int length)
    {
        var array = new float[length];
        if (length * (long)sizeof(float) >= MinimumBytes && !s_unavailable)
        {
            Advise(array);
        }

        return array;
    }

    private static unsafe void Advise(float[] array)
    {
        fixed (float* data = array)
        {
            // EINVAL means huge pages are off, and the array works the same.
            AdviseWholePages(data, array.Length * (long)sizeof(float), MadviseHugePage);
        }
    }

    /// <summary>
    /// Drops the whole pages inside <paramref name="bytes"/> bytes at <paramref name="start"/> from this process's
    /// memory (<c>madvise(MADV_DONTNEED)</c>). Only for an unwritten private file mapping that will not be read again
    /// soon: a later read faults the file's bytes back in, so nothing is lost. A hint: off Linux, nothing changes.
    /// </summary>
    public static unsafe void Discard(void* start, long bytes) => AdviseWholePages(start, bytes, MadviseDontNeed);

    /// <summary>
    /// Makes the whole pages inside <paramref name="data"/> private and writable in one call
    /// (<c>madvise(MADV_POPULATE_WRITE)</c>, Linux 5.14 and later) before a loop writes every element: on a
    /// copy-on-write file mapping each first write to a page otherwise takes a page fault of its own (about 100,000
    /// for GPT-2 small's processed weights). The same pages are copied either way; only the faults go. A hint: on
    /// memory already private, an older kernel or off Linux, nothing changes.
    /// </summary>
    public static unsafe void PrepareWrites(Span<float> data)
    {
        if (data.Length * (long)sizeof(float) < MinimumPrepareBytes)
        {
            return;
        }

        fixed (float* start = data)
        {
            // EINVAL (an older kernel) or any other refusal leaves the writes to fault as before.
            AdviseWholePages(start, data.Length * (long)sizeof(float), MadvisePopulateWrite);
        }
    }

    /// <summary><c>madvise</c> on the whole pages inside the range, its result ignored: every use is a hint.</summary>
    private static unsafe void AdviseWholePages(void* start, long bytes, int advice)
    {
        var first = ((long)start + PageSize - 1) & ~(PageSize - 1);
        var end = ((long)start + bytes) & ~(PageSize - 1);
        if (end <= first || s_unavailable)
        {
            return;
        }

        try
        {
            _ = madvise((nint)first, (nuint)(end - first), advice);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
        }
    }

    [LibraryImport("libc.so.6")]
    private static partial int madvise(nint address, nuint length, int advice);
}
