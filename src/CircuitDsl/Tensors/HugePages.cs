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
    private const int MadvisePopulateWrite = 23;

    /// <summary>Below this size <see cref="PrepareWrites"/> saves too few faults to be worth a system call.</summary>
    private const long MinimumPrepareBytes = 1L << 20;

    /// <summary>The page size madvise works in (x86-64 and the usual arm64 kernels).</summary>
    internal const long PageSize = 4096;

    private static volatile bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>
    /// A zero-filled array of <paramref name="length"/> floats, advised to huge pages when large. The garbage collector
    /// hands out fresh memory untouched (it is known to be zero), so the advice lands before the first fault.
    /// </summary>
    public static float[] Allocate(int length)
    {
        var array = new float[length];
        if (length * (long)sizeof(float) >= MinimumBytes)
        {
            Advise(array);
        }

        return array;
    }

    private static unsafe void Advise(float[] array)
    {
        fixed (float* data = array)
        {
            var start = ((long)data + PageSize - 1) & ~(PageSize - 1);
            var end = ((long)data + (array.Length * (long)sizeof(float))) & ~(PageSize - 1);

            // The result is ignored on purpose: EINVAL means huge pages are off, and the array works the same.
            Madvise(start, end - start, MadviseHugePage);
        }
    }

    /// <summary>
    /// Makes the whole pages inside <paramref name="data"/> private and writable in one call
    /// (<c>madvise(MADV_POPULATE_WRITE)</c>, Linux 5.14 and later) before a loop writes every element: on a
    /// copy-on-write file mapping each first write to a page otherwise takes a page fault of its own (about 100,000
    /// for GPT-2 small's processed weights). The same pages are copied either way; only the faults go. A hint: on
    /// memory already private, an older kernel or off Linux, nothing changes.
    /// </summary>
    public static unsafe void PrepareWrites(Span<float> data)
    {
        var bytes = data.Length * (long)sizeof(float);
        if (bytes < MinimumPrepareBytes)
        {
            return;
        }

        fixed (float* pointer = data)
        {
            var start = ((long)pointer + PageSize - 1) & ~(PageSize - 1);
            var end = ((long)pointer + bytes) & ~(PageSize - 1);

            // EINVAL (an older kernel) or any other refusal leaves the writes to fault as before.
            Madvise(start, end - start, MadvisePopulateWrite);
        }
    }

    /// <summary>
    /// <c>madvise</c> of the page-aligned range, its result ignored (every use is a hint); false, and nothing done, where
    /// libc's is missing (off Linux, or without glibc).
    /// </summary>
    internal static bool Madvise(long start, long bytes, int advice)
    {
        if (s_unavailable)
        {
            return false;
        }

        try
        {
            _ = madvise((nint)start, (nuint)bytes, advice);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return false;
        }
    }

    [LibraryImport("libc.so.6")]
    private static partial int madvise(nint address, nuint length, int advice);
}
