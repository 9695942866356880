using System.Reflection;
using System.Runtime.InteropServices;

namespace CircuitDsl.Tensors;

/// <summary>
/// SGEMM through OpenBLAS's <c>cblas_sgemm</c> (row-major), loaded at run time from wherever the system put it.
/// </summary>
/// <remarks>
/// <para>
/// The library is looked for under the names and paths Debian, Fedora, Homebrew and Windows builds use, or at
/// the path in <c>CIRCUITDSL_OPENBLAS</c>.
/// </para>
/// <para>
/// OpenBLAS runs each call on the calling thread alone; a large product is split into as many parts as OpenBLAS would
/// have used threads (<c>OPENBLAS_NUM_THREADS</c>, or the cores), run on the runtime's thread pool. OpenBLAS's own
/// threads, waiting between products, spin against the pool's threads that run the forward pass's other loops and any
/// work beside it; on the pool they share the cores as the pool balances them. Cold, OPENBLAS_CORETYPE unset,
/// alternating: GPT-2 small's <c>inspect</c> 3.62 → 3.41 s (n = 5), attn-only-2l's <c>loss</c> 1.86 → 1.72 s and
/// <c>paths</c> 5.10 → 4.87 s (n = 3).
/// </para>
/// </remarks>
public sealed class OpenBlasGemm : IGemmBackend
{
    /// <summary>An environment variable naming the OpenBLAS library file to load instead of searching.</summary>
    public const string LibraryVariable = "CIRCUITDSL_OPENBLAS";

    /// <summary>The OpenBLAS kernel sets that use AVX-512 (<c>openblas_get_corename</c>'s names).</summary>
    private static readonly string[] s_avx512Cores = ["SkylakeX", "Cooperlake", "SapphireRapids"];

    /// <summary>Multiply-adds (m·n·k) a part of a split product has at least: below, one call does the whole product.</summary>
    private const long PartWork = 1L << 21;

    /// <summary>Rows or columns a part is a multiple of (but the last), so each part's kernels run on whole vectors.</summary>
    private const int PartAlignment = 16;

    /// <summary>A backend on the loaded OpenBLAS, splitting a large product into as many parts as OpenBLAS would have used threads.</summary>
    /// <exception cref="InvalidOperationException">OpenBLAS cannot be loaded on this machine.</exception>
    public OpenBlasGemm()
        : this(OpenBlasLibrary.Threads)
    {
    }

    /// <summary>A backend on the loaded OpenBLAS that splits a large product into at most <paramref name="threads"/> parts.</summary>
    /// <exception cref="InvalidOperationException">OpenBLAS cannot be loaded on this machine.</exception>
    internal OpenBlasGemm(int threads)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException($"OpenBLAS could not be loaded: {LoadFailure}");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
    }

    /// <summary>Whether an OpenBLAS library with <c>cblas_sgemm</c> could be loaded.</summary>
    public static bool IsAvailable => OpenBlasLibrary.Handle != 0;

    /// <summary>Why OpenBLAS could not be loaded (which names and paths were tried), or null when it was.</summary>
    public static string? LoadFailure => OpenBlasLibrary.Failure;

    /// <summary>The name or path under which OpenBLAS was loaded, or null when it was not.</summary>
    public static string? LibraryName => OpenBlasLibrary.LoadedName;

    /// <summary>
    /// Whether the loaded OpenBLAS runs kernels narrower than this processor's vectors: its AVX2 kernels (<c>Haswell</c>,
    /// <c>Zen</c>, …) on a processor with AVX-512, which <c>OPENBLAS_CORETYPE=Haswell</c> forces. There the managed
    /// kernel, on 512-bit vectors, multiplies faster (on an AMD EPYC Zen 4: 263–286 GFLOP/s against OpenBLAS's 191
    /// with Haswell kernels and 345 with its own), so the default backend is the managed one.
    /// </summary>
    public static bool NarrowerThanProcessor =>
        IsAvailable && NarrowerThan(OpenBlasLibrary.CoreName(), System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated);

    /// <summary>
    /// Whether OpenBLAS's kernel set <paramref name="core"/> is narrower than a processor that does
    /// (<paramref name="vector512"/>) or does not accelerate 512-bit vectors; an unknown kernel set (null) is not.
    /// </summary>
    internal static bool NarrowerThan(string? core, bool vector512) =>
        vector512 && core is not null && !s_avx512Cores.Contains(core, StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    public string Name => "openblas";

    /// <summary>How many parts, on the runtime's thread pool, a large product is split into at most.</summary>
    public int Threads { get; }

    /// <inheritdoc />
    public string Description
    {
        get
        {
            var threads = Threads;
            var core = OpenBlasLibrary.CoreName();
            var file = Path.GetFileName(OpenBlasLibrary.LoadedName);
            return $"openblas ({file}, {threads} thread{(threads == 1 ? "" : "s")}{(core is null ? "" : $", {core} kernels")})";
        }
    }

    /// <inheritdoc />
    public unsafe void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        Gemm.CheckArguments(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        var parts = (int)Math.Clamp((long)m * n * k / PartWork, 1, Threads);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            if (parts == 1)
            {
                Call(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                return;
            }

            // The wider of C's two sides is split: each part packs its own share of one operand and the whole of the
            // other, the smaller. Each element is still one dot product over the whole of k (an edge tile's kernel may
            // round it differently from the one that would have made it in a single call).
            var (byColumns, length) = n >= m ? (true, n) : (false, m);
            var size = (((length + parts - 1) / parts) + PartAlignment - 1) / PartAlignment * PartAlignment;
            (nint ia, nint ib, nint ic) = ((nint)pa, (nint)pb, (nint)pc);
            Parallel.For(0, (length + size - 1) / size, part =>
            {
                int first = part * size, count = Math.Min(size, length - first);
                if (byColumns)
                {
                    // Columns [first, first + count) of C: of op(B), rows of a transposed B, columns of one as stored.
                    var bPart = (float*)ib + (transB ? (long)first * ldb : first);
                    Call(transA, transB, m, count, k, alpha, (float*)ia, lda, bPart, ldb, beta, (float*)ic + first, ldc);
                }
                else
                {
                    var aPart = (float*)ia + (transA ? first : (long)first * lda);
                    Call(transA, transB, count, n, k, alpha, aPart, lda, (float*)ib, ldb, beta, (float*)ic + ((long)first * ldc), ldc);
                }
            });
        }
    }

    private static unsafe void Call(
        bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        OpenBlasNative.cblas_sgemm(
            OpenBlasNative.CblasRowMajor,
            transA ? OpenBlasNative.CblasTrans : OpenBlasNative.CblasNoTrans,
            transB ? OpenBlasNative.CblasTrans : OpenBlasNative.CblasNoTrans,
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// <summary>Finds and loads the OpenBLAS shared library once, and resolves <see cref="OpenBlasNative"/>'s imports to it.</summary>
internal static class OpenBlasLibrary
{
    private static readonly Lazy<(nint Handle, string? Name, string? Failure, int Threads)> s_load = new(Load);

    public static nint Handle => s_load.Value.Handle;

    /// <summary>
    /// The threads OpenBLAS would have used (<c>OPENBLAS_NUM_THREADS</c>, or the cores), read on loading it, before it
    /// was set to run every call on the calling thread alone.
    /// </summary>
    public static int Threads => s_load.Value.Threads;

    public static string? LoadedName => s_load.Value.Name;

    public static string? Failure => s_load.Value.Failure;

    /// <summary>Whether the loaded library also exports LAPACK's <c>dgeev</c> (Debian's and most builds do).</summary>
    public static bool HasLapack => Handle != 0 && NativeLibrary.TryGetExport(Handle, "dgeev_", out _);

    /// <summary>The CPU kernel set OpenBLAS chose (e.g. <c>SkylakeX</c>, or <c>Haswell</c> under <c>OPENBLAS_CORETYPE</c>).</summary>
    public static string? CoreName()
    {
        if (!NativeLibrary.TryGetExport(Handle, "openblas_get_corename", out _))
        {
            return null;
        }

        return Marshal.PtrToStringUTF8(OpenBlasNative.openblas_get_corename());
    }

    private static (nint, string?, string?, int) Load()
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            if (!NativeLibrary.TryLoad(candidate, out var handle))
            {
                continue;
            }

            if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out _)
                || !NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out _)
                || !NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out _))
            {
                NativeLibrary.Free(handle);
                continue;
            }

            // One resolver for this assembly: it answers for OpenBLAS's logical name and defers everything else.
            NativeLibrary.SetDllImportResolver(typeof(OpenBlasLibrary).Assembly, Resolve);
            return (handle, candidate, null, RunCallsAlone(handle));
        }

        return (0, null, $"none of {string.Join(", ", tried)} could be loaded with cblas_sgemm and openblas_get_num_threads/openblas_set_num_threads.", 0);
    }

    /// <summary>
    /// Sets OpenBLAS to run every call on the calling thread alone and returns how many threads it would have used,
    /// through the exports themselves (the resolver answers only once loading is done).
    /// </summary>
    private static unsafe int RunCallsAlone(nint handle)
    {
        var get = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "openblas_get_num_threads");
        var set = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(handle, "openblas_set_num_threads");
        var threads = Math.Max(1, get());
        set(1);
        return threads;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == OpenBlasNative.LibraryName ? Handle : 0;

    private static IEnumerable<string> Candidates()
    {
        var explicitPath = Environment.GetEnvironmentVariable(OpenBlasGemm.LibraryVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            // An explicit choice is the only one tried, so a wrong path is reported rather than bypassed.
            yield return explicitPath.Trim();
            yield break;
        }

        if (OperatingSystem.IsWindows())
        {
            yield return "libopenblas.dll";
            yield return "openblas.dll";
            yield break;
        }

        if (OperatingSystem.IsMacOS())
        {
            yield return "libopenblas.dylib";
            yield return "/opt/homebrew/opt/openblas/lib/libopenblas.dylib";
            yield return "/usr/local/opt/openblas/lib/libopenblas.dylib";
            yield break;
        }

        yield return "libopenblas.so.0";
        yield return "libopenblas.so";
        var triplet = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x86_64-linux-gnu",
            Architecture.Arm64 => "aarch64-linux-gnu",
            _ => null,
        };
        if (triplet is not null)
        {
            // Debian installs each threading flavour in its own directory, found via alternatives symlinks.
            foreach (var flavour in new[] { "openblas-pthread", "openblas-openmp", "openblas-serial" })
            {
                yield return $"/usr/lib/{triplet}/{flavour}/libopenblas.so.0";
            }
        }

        yield return "/usr/lib64/libopenblas.so.0";
        yield return "/usr/lib64/libopenblasp.so.0";
    }
}

/// <summary>The OpenBLAS entry points, source-generated P/Invoke resolved by <see cref="OpenBlasLibrary"/>.</summary>
internal static unsafe partial class OpenBlasNative
{
    /// <summary>A logical library name; <see cref="OpenBlasLibrary"/> maps it to the file it found.</summary>
    public const string LibraryName = "circuitdsl-openblas";

    public const int CblasRowMajor = 101;
    public const int CblasNoTrans = 111;
    public const int CblasTrans = 112;

    [LibraryImport(LibraryName)]
    public static partial void cblas_sgemm(
        int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    /// <summary>
    /// LAPACK's <c>dgeev</c> (Fortran interface: every argument by reference, column-major). The two trailing
    /// lengths are gfortran's hidden lengths of the character arguments <c>jobvl</c> and <c>jobvr</c>.
    /// </summary>
    [LibraryImport(LibraryName, EntryPoint = "dgeev_")]
    public static partial void dgeev(
        byte* jobvl, byte* jobvr, int* n, double* a, int* lda, double* wr, double* wi,
        double* vl, int* ldvl, double* vr, int* ldvr, double* work, int* lwork, int* info,
        nuint jobvlLength, nuint jobvrLength);

    [LibraryImport(LibraryName)]
    public static partial nint openblas_get_corename();
}
