namespace CircuitDsl.Tensors;

/// <summary>
/// A matrix-multiply engine: <c>C = alpha · op(A) · op(B) + beta · C</c> on row-major single-precision data,
/// with BLAS's argument conventions (leading dimensions are row strides).
/// </summary>
/// <remarks>
/// As in BLAS, when <c>beta</c> is zero <c>C</c> is written without being read (it may hold NaN), and when
/// <c>alpha</c> is zero or <c>k</c> is zero <c>A</c> and <c>B</c> are not read.
/// </remarks>
public interface IGemmBackend
{
    /// <summary>A short name for reports and <c>--version</c>, e.g. <c>openblas</c> or <c>managed</c>.</summary>
    string Name { get; }

    /// <summary>
    /// One line describing the backend as configured, e.g. <c>openblas (libopenblas.so.0, 2 threads)</c>.
    /// </summary>
    string Description => Name;

    /// <summary>Row-major SGEMM. <paramref name="m"/> × <paramref name="k"/> times <paramref name="k"/> × <paramref name="n"/>.</summary>
    void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc);
}

/// <summary>
/// The runtime's matrix-multiply seam. Everything that multiplies matrices comes through here, so a faster
/// backend (OpenBLAS today, TorchSharp/CUDA where available) changes one place.
/// </summary>
/// <remarks>
/// The default backend is chosen on first use: OpenBLAS when its library loads and runs kernels as wide as the
/// processor's vectors, the managed kernel otherwise (see <see cref="OpenBlasGemm.NarrowerThanProcessor"/>).
/// The environment variable <c>CIRCUITDSL_GEMM</c> (<c>managed</c> or <c>openblas</c>) overrides the choice;
/// asking for <c>openblas</c> on a machine without it is an error, not a silent fallback.
/// </remarks>
public static class Gemm
{
    /// <summary>The environment variable that overrides the backend choice: <c>managed</c> or <c>openblas</c>.</summary>
    public const string BackendVariable = "CIRCUITDSL_GEMM";

    private static IGemmBackend? s_backend;
    private static IGemmBackend? s_serial;

    /// <summary>
    /// The backend in use. Chosen on first read (see <see cref="CreateDefaultBackend"/>) unless set before.
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>CIRCUITDSL_GEMM</c> names a backend that is unknown or cannot load.</exception>
    public static IGemmBackend Backend
    {
        get => Volatile.Read(ref s_backend) ?? InitializeDefault();
        set => Volatile.Write(ref s_backend, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>
    /// A backend for products that already run inside a parallel loop: the managed kernel on one thread, unless
    /// set. The loop already uses every core, so a product split over them again (as <see cref="Backend"/>'s are) would
    /// only add the cost of splitting; many small products side by side are faster on one thread each.
    /// </summary>
    public static IGemmBackend Serial
    {
        get => Volatile.Read(ref s_serial) ?? InitializeSerial();
        set => Volatile.Write(ref s_serial, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>
    /// One line naming the backend in use and how it runs, e.g. <c>openblas (libopenblas.so.0, 2 threads)</c>
    /// or <c>managed (Vector512, 2 threads)</c>; what <c>circuitdsl --version</c> prints.
    /// </summary>
    public static string Describe() => Backend.Description;

    /// <summary>
    /// The backend that <c>CIRCUITDSL_GEMM</c> asks for, or the best one available when it is unset.
    /// </summary>
    /// <exception cref="InvalidOperationException">The variable names a backend that is unknown or cannot load.</exception>
    public static IGemmBackend CreateDefaultBackend() =>
        SelectBackend(Environment.GetEnvironmentVariable(BackendVariable));

    /// <summary>
    /// The backend for a <c>CIRCUITDSL_GEMM</c> setting: <c>managed</c>, <c>openblas</c>, or null/empty for
    /// OpenBLAS when it loads and its kernels are not narrower than the processor's vectors
    /// (<see cref="OpenBlasGemm.NarrowerThanProcessor"/>), the managed kernel otherwise. Case and surrounding spaces are ignored.
    /// </summary>
    /// <exception cref="InvalidOperationException">The setting is unknown, or is <c>openblas</c> and OpenBLAS cannot load.</exception>
    public static IGemmBackend SelectBackend(string? setting)
    {
        var choice = setting?.Trim().ToLowerInvariant();
        switch (choice)
        {
            case null or "":
                return OpenBlasGemm.IsAvailable && !OpenBlasGemm.NarrowerThanProcessor ? new OpenBlasGemm() : new ManagedGemm();
            case "managed":
                return new ManagedGemm();
            case "openblas":
                if (!OpenBlasGemm.IsAvailable)
                {
                    throw new InvalidOperationException(
                        $"{BackendVariable}=openblas, but OpenBLAS could not be loaded: {OpenBlasGemm.LoadFailure} " +
                        $"Install it (Debian/Ubuntu: apt-get install libopenblas0-pthread) or set {BackendVariable}=managed.");
                }

                return new OpenBlasGemm();
            default:
                throw new InvalidOperationException(
                    $"{BackendVariable}='{setting}' is not a GEMM backend; expected 'managed' or 'openblas' (or unset to choose automatically).");
        }
    }

    /// <summary>Row-major SGEMM on the current backend; see <see cref="IGemmBackend.Sgemm"/>.</summary>
    /// <exception cref="ArgumentException">A size, leading dimension or span length does not fit the matrices.</exception>
    public static void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        CheckArguments(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        Backend.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>The matrix product <c>op(a) · op(b)</c> as a new matrix.</summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        a.RequireRank(2);
        b.RequireRank(2);
        var m = transA ? a.Dim(1) : a.Dim(0);
        var n = transB ? b.Dim(0) : b.Dim(1);
        var c = new Tensor(m, n);
        MatMul(a, b, c, transA, transB);
        return c;
    }

    /// <summary><c>c = op(a) · op(b) + beta · c</c> for matrices, shapes checked.</summary>
    public static void MatMul(Tensor a, Tensor b, Tensor c, bool transA = false, bool transB = false, float beta = 0f)
    {
        a.RequireRank(2);
        b.RequireRank(2);
        c.RequireRank(2);
        int m = transA ? a.Dim(1) : a.Dim(0), k = transA ? a.Dim(0) : a.Dim(1);
        int kb = transB ? b.Dim(1) : b.Dim(0), n = transB ? b.Dim(0) : b.Dim(1);
        if (k != kb || c.Dim(0) != m || c.Dim(1) != n)
        {
            throw new ArgumentException(
                $"Cannot multiply {Tensor.FormatShape(a.Shape)}{(transA ? "ᵀ" : "")} by " +
                $"{Tensor.FormatShape(b.Shape)}{(transB ? "ᵀ" : "")} into {Tensor.FormatShape(c.Shape)}.");
        }

        if (!transA && !transB && m > 0 && n > 0 && k > 0 && DeferredMatrix.IsPending(b))
        {
            // A deferred matrix: a transpose not yet computed (GPT-2's tied W_U, W_Eᵀ) is multiplied without being made.
            DeferredMatrix.MultiplyColumns(Backend, m, a.Span, b, 0, n, beta, c.Span);
            return;
        }

        // A zero-width matrix still has a leading dimension of at least 1 in BLAS's rules.
        Sgemm(transA, transB, m, n, k, 1f, a.Span, Math.Max(1, a.Dim(1)), b.Span, Math.Max(1, b.Dim(1)), beta, c.Span, Math.Max(1, n));
    }

    /// <summary>
    /// Checks SGEMM arguments the way BLAS's <c>xerbla</c> does, and also that every span is long enough, so a
    /// native backend can never read or write outside them.
    /// </summary>
    internal static void CheckArguments(
        bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"SGEMM sizes must not be negative (m = {m}, n = {n}, k = {k}).");
        }

        // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k), C is m×n.
        CheckMatrix("A", transA ? k : m, transA ? m : k, aLength, lda, "lda", m == 0 || n == 0 || k == 0);
        CheckMatrix("B", transB ? n : k, transB ? k : n, bLength, ldb, "ldb", m == 0 || n == 0 || k == 0);
        CheckMatrix("C", m, n, cLength, ldc, "ldc", m == 0 || n == 0);
    }

    private static IGemmBackend InitializeDefault()
    {
        var created = CreateDefaultBackend();
        return Interlocked.CompareExchange(ref s_backend, created, null) ?? created;
    }

    private static IGemmBackend InitializeSerial()
    {
        var created = new ManagedGemm(ManagedGemmKernel.Auto, threads: 1);
        return Interlocked.CompareExchange(ref s_serial, created, null) ?? created;
    }

    private static void CheckMatrix(string name, int rows, int cols, int length, int ld, string ldName, bool unused)
    {
        if (ld < Math.Max(1, cols))
        {
            throw new ArgumentException(
                $"SGEMM: {ldName} = {ld} is smaller than the {cols} columns of the stored {rows}×{cols} matrix {name} (and must be at least 1).");
        }

        if (unused)
        {
            return;
        }

        var needed = ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException(
                $"SGEMM: {name} has {length} elements, but a stored {rows}×{cols} matrix with {ldName} = {ld} needs {needed}.");
        }
    }
}
