namespace CircuitDsl.Tensors;

/// <summary>
/// A matrix-multiply engine: <c>C = alpha · op(A) · op(B) + beta · C</c> on row-major single-precision data,
/// with BLAS's argument conventions (leading dimensions are row strides).
/// </summary>
public interface IGemmBackend
{
    /// <summary>A short name for reports and <c>--version</c>, e.g. <c>openblas</c> or <c>managed-avx512</c>.</summary>
    string Name { get; }

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
public static class Gemm
{
    /// <summary>The backend in use.</summary>
    public static IGemmBackend Backend { get; set; } = new ManagedGemm();

    /// <summary>Row-major SGEMM on the current backend; see <see cref="IGemmBackend.Sgemm"/>.</summary>
    public static void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
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

        Sgemm(transA, transB, m, n, k, 1f, a.Span, a.Dim(1), b.Span, b.Dim(1), beta, c.Span, n);
    }
}
