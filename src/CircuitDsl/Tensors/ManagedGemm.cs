namespace CircuitDsl.Tensors;

/// <summary>A portable SGEMM in C#: the fallback when no native BLAS is present.</summary>
public sealed class ManagedGemm : IGemmBackend
{
    /// <inheritdoc />
    public string Name => "managed";

    /// <inheritdoc />
    public void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0f;
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    var bv = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += av * bv;
                }

                ref var cij = ref c[(i * ldc) + j];
                cij = (alpha * sum) + (beta == 0f ? 0f : beta * cij);
            }
        }
    }
}
