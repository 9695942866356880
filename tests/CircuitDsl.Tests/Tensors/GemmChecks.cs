using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>One SGEMM problem: sizes, transposes, scalars, and how much wider than its rows each matrix is stored.</summary>
public sealed record GemmCase(
    int M, int N, int K, bool TransA = false, bool TransB = false, float Alpha = 1f, float Beta = 0f,
    int PadA = 0, int PadB = 0, int PadC = 0, bool NaNInC = false)
{
    public override string ToString() =>
        $"{M}×{N}×{K} trans=({TransA},{TransB}) alpha={Alpha} beta={Beta} pads=({PadA},{PadB},{PadC}) NaN C={NaNInC}";
}

/// <summary>Runs a backend on a <see cref="GemmCase"/> and compares it with a naive double-precision product.</summary>
internal static class GemmChecks
{
    private const float Padding = 12345.5f;

    public static void AssertMatchesReference(IGemmBackend backend, GemmCase g, int seed = 1)
    {
        var rng = new Random(seed);

        // Stored shapes: A is m×k (k×m transposed), B is k×n (n×k transposed); ld = width + pad.
        int aRows = g.TransA ? g.K : g.M, aCols = g.TransA ? g.M : g.K;
        int bRows = g.TransB ? g.N : g.K, bCols = g.TransB ? g.K : g.N;
        int lda = Math.Max(1, aCols + g.PadA), ldb = Math.Max(1, bCols + g.PadB), ldc = Math.Max(1, g.N + g.PadC);

        // Padding of A and B is NaN: a kernel that reads it poisons its results. C's padding must survive.
        var a = Filled(aRows, aCols, lda, rng, float.NaN);
        var b = Filled(bRows, bCols, ldb, rng, float.NaN);
        var c = Filled(g.M, g.N, ldc, rng, Padding);
        if (g.NaNInC)
        {
            for (var i = 0; i < g.M; i++)
            {
                c.AsSpan(i * ldc, g.N).Fill(float.NaN);
            }
        }

        var c0 = (float[])c.Clone();
        backend.Sgemm(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, a, lda, b, ldb, g.Beta, c, ldc);

        for (var i = 0; i < g.M; i++)
        {
            for (var j = 0; j < g.N; j++)
            {
                double sum = 0, magnitude = 0;
                for (var p = 0; p < g.K; p++)
                {
                    double av = g.TransA ? a[(p * lda) + i] : a[(i * lda) + p];
                    double bv = g.TransB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += av * bv;
                    magnitude += Math.Abs(av * bv);
                }

                var expected = g.Alpha * sum;
                var scale = Math.Abs(g.Alpha) * magnitude;
                if (g.Beta != 0f)
                {
                    expected += g.Beta * (double)c0[(i * ldc) + j];
                    scale += Math.Abs(g.Beta * (double)c0[(i * ldc) + j]);
                }

                // Rounding error of a float dot product grows at most linearly with its length.
                var tolerance = ((g.K + 4) * Math.Pow(2, -23) * scale) + 1e-30;
                var actual = c[(i * ldc) + j];
                if (!(Math.Abs(actual - expected) <= tolerance))
                {
                    throw new Xunit.Sdk.XunitException(
                        $"{backend.Description} on {g}: C[{i},{j}] = {actual}, expected {expected} ± {tolerance:G3}.");
                }
            }

            for (var j = g.N; j < ldc && (i * ldc) + j < c.Length; j++)
            {
                c[(i * ldc) + j].Should().Be(Padding, $"{backend.Name} must not write C[{i},{j}] beyond n = {g.N} ({g})");
            }
        }
    }

    /// <summary>A stored rows × cols matrix with row stride ld: values in [-1, 1), <paramref name="pad"/> beyond cols.</summary>
    private static float[] Filled(int rows, int cols, int ld, Random rng, float pad)
    {
        var data = new float[Math.Max(0, ((rows - 1) * ld) + cols)];
        data.AsSpan().Fill(pad);
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                data[(i * ld) + j] = (float)((rng.NextDouble() * 2) - 1);
            }
        }

        return data;
    }

    /// <summary>Shapes that hit every edge: single elements, odd sizes, exact tiles, one past tiles and blocks.</summary>
    public static IEnumerable<(int M, int N, int K)> Shapes() =>
    [
        (1, 1, 1), (3, 5, 7), (2, 1, 9), (1, 40, 3), (17, 33, 65), (8, 32, 256), (9, 31, 257), (12, 16, 16),
        (13, 15, 5), (6, 16, 33), (129, 47, 300), (31, 600, 20),
    ];

    /// <summary>Each transpose pair, with alpha/beta and leading dimensions wider than the rows.</summary>
    public static IEnumerable<GemmCase> TransposeCases()
    {
        // 40 × 300 × 50 is wide enough that the managed 256-bit and scalar kernels pack A; the others read it in place.
        // A single row (1 × 70 × 300) takes the managed backend's row path, which reads a transposed A's column.
        foreach (var (m, n, k) in new[] { (17, 33, 65), (130, 70, 300), (5, 13, 2), (40, 300, 50), (1, 70, 300) })
        {
            foreach (var transA in new[] { false, true })
            {
                foreach (var transB in new[] { false, true })
                {
                    yield return new GemmCase(m, n, k, transA, transB, Alpha: -0.75f, Beta: 1.5f, PadA: 3, PadB: 5, PadC: 7);
                }
            }
        }
    }
}
