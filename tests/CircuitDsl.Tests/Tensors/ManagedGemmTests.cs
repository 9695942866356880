using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>
/// The managed kernel, every family (Vector512, Vector256, scalar) on this machine whether or not it is the one
/// <see cref="ManagedGemmKernel.Auto"/> picks, against a naive double-precision product.
/// </summary>
public sealed class ManagedGemmTests
{
    private static readonly ManagedGemmKernel[] Kernels =
        [ManagedGemmKernel.Vector512, ManagedGemmKernel.Vector256, ManagedGemmKernel.Scalar];

    public static TheoryData<ManagedGemmKernel, int, int, int> KernelsAndShapes()
    {
        var data = new TheoryData<ManagedGemmKernel, int, int, int>();
        foreach (var kernel in Kernels)
        {
            foreach (var (m, n, k) in GemmChecks.Shapes())
            {
                data.Add(kernel, m, n, k);
            }
        }

        return data;
    }

    public static TheoryData<ManagedGemmKernel, int, int, int, bool, bool> KernelsAndTransposes()
    {
        var data = new TheoryData<ManagedGemmKernel, int, int, int, bool, bool>();
        foreach (var kernel in Kernels)
        {
            foreach (var g in GemmChecks.TransposeCases())
            {
                data.Add(kernel, g.M, g.N, g.K, g.TransA, g.TransB);
            }
        }

        return data;
    }

    public static TheoryData<ManagedGemmKernel> AllKernels() => [.. Kernels];

    [Theory]
    [MemberData(nameof(KernelsAndShapes))]
    public void Product_matches_double_reference(ManagedGemmKernel kernel, int m, int n, int k) =>
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel), new GemmCase(m, n, k));

    [Theory]
    [MemberData(nameof(KernelsAndTransposes))]
    public void Transposes_alpha_beta_and_wide_leading_dimensions_match_reference(
        ManagedGemmKernel kernel, int m, int n, int k, bool transA, bool transB) =>
        GemmChecks.AssertMatchesReference(
            new ManagedGemm(kernel),
            new GemmCase(m, n, k, transA, transB, Alpha: -0.75f, Beta: 1.5f, PadA: 3, PadB: 5, PadC: 7));

    [Theory]
    [MemberData(nameof(AllKernels))]
    public void Beta_zero_never_reads_C(ManagedGemmKernel kernel)
    {
        foreach (var (m, n, k) in new[] { (3, 5, 7), (40, 70, 300), (13, 9, 2), (1, 40, 9) })
        {
            GemmChecks.AssertMatchesReference(new ManagedGemm(kernel), new GemmCase(m, n, k, Alpha: 2f, PadC: 2, NaNInC: true));
        }
    }

    [Theory]
    [MemberData(nameof(AllKernels))]
    public void Large_parallel_product_matches_reference(ManagedGemmKernel kernel) =>
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel, threads: 2), new GemmCase(300, 500, 700, Beta: 0.5f, PadA: 1));

    [Theory]
    [MemberData(nameof(AllKernels))]
    public void A_product_wider_or_deeper_than_one_packed_slab_matches_reference(ManagedGemmKernel kernel)
    {
        // 800 × 6,000 floats of B are more than one slab of packed panels (4 M floats): two slabs, the second ragged.
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel, threads: 2), new GemmCase(20, 6000, 800, Beta: 0.5f, PadB: 3));
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel, threads: 2), new GemmCase(9, 6000, 800, TransB: true, Alpha: -1.5f));

        // 9,000 deep: a column tile of B is more than one slab too, so the depth blocks are packed in two slabs.
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel, threads: 2), new GemmCase(30, 600, 9000, TransA: true, TransB: true, Beta: -1f));
    }

    [Fact]
    public void Packing_B_in_slabs_adds_the_same_floats_in_the_same_order()
    {
        // Each column of C is the same sum whether B is packed whole or a slab at a time: the product of B's two halves,
        // each narrow enough to be packed at once, equals the slabbed product of the whole bit for bit.
        const int M = 17, N = 6000, K = 800, Half = 3008;
        var rng = new Random(5);
        var a = Enumerable.Range(0, M * K).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var b = Enumerable.Range(0, K * N).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var gemm = new ManagedGemm(ManagedGemmKernel.Auto, threads: 2);
        var whole = new float[M * N];
        var halves = new float[M * N];

        gemm.Sgemm(false, false, M, N, K, 1f, a, K, b, N, 0f, whole, N);
        gemm.Sgemm(false, false, M, Half, K, 1f, a, K, b, N, 0f, halves, N);
        gemm.Sgemm(false, false, M, N - Half, K, 1f, a, K, b.AsSpan(Half), N, 0f, halves.AsSpan(Half), N);

        whole.Should().Equal(halves);
    }

    [Theory]
    [InlineData(false, false, 0f, 96, 64)]
    [InlineData(false, true, 0f, 64, 64)]
    [InlineData(true, false, 1.5f, 96, 300)]
    [InlineData(true, true, -0.5f, 64, 300)]
    [InlineData(false, true, 1.5f, 16, 500)]
    [InlineData(false, false, 0f, 16, 200)]
    public void One_row_alone_gets_the_floats_it_gets_inside_a_larger_product(bool transA, bool transB, float beta, int n, int k)
    {
        // The 512-bit family multiplies a single row without tiles; its arithmetic must still be a whole tile's (a
        // patched run's last query alone must attend exactly as in its sequence's pass). 24 rows fill 8- and 12-row
        // panels, and n fills 32- or 16-column strips, so every row of the larger product lies in a whole tile; depths
        // past 192 take several blocks.
        const int M = 24;
        const float Alpha = 0.75f;
        var rng = new Random(7);
        float[] Random(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble() - 0.5f)];
        var (a, b, c0) = (Random(M * k), Random(k * n), Random(M * n));
        int lda = transA ? M : k, ldb = transB ? k : n;
        var gemm = new ManagedGemm(ManagedGemmKernel.Vector512, threads: 1);
        var whole = c0.ToArray();
        gemm.Sgemm(transA, transB, M, n, k, Alpha, a, lda, b, ldb, beta, whole, n);

        for (var i = 0; i < M; i++)
        {
            var row = c0.AsSpan(i * n, n).ToArray();
            gemm.Sgemm(transA, transB, 1, n, k, Alpha, a.AsSpan(transA ? i : i * k), lda, b, ldb, beta, row, n);
            row.Should().Equal(whole.AsSpan(i * n, n).ToArray(), $"row {i}");
        }
    }

    [Fact]
    public void Single_thread_large_product_matches_reference() =>
        GemmChecks.AssertMatchesReference(new ManagedGemm(ManagedGemmKernel.Auto, threads: 1), new GemmCase(150, 260, 530, TransA: true));

    [Theory]
    [MemberData(nameof(AllKernels))]
    public void Zero_depth_scales_C_by_beta(ManagedGemmKernel kernel)
    {
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel), new GemmCase(4, 6, 0, Beta: -2f));
        GemmChecks.AssertMatchesReference(new ManagedGemm(kernel), new GemmCase(4, 6, 0, NaNInC: true));
    }

    [Fact]
    public void Alpha_zero_reads_neither_A_nor_B()
    {
        var a = new float[6];
        var b = new float[6];
        a.AsSpan().Fill(float.NaN);
        b.AsSpan().Fill(float.NaN);
        float[] c = [1f, 2f, 3f, 4f];
        new ManagedGemm().Sgemm(false, false, 2, 2, 3, 0f, a, 3, b, 2, 3f, c, 2);
        c.Should().Equal(3f, 6f, 9f, 12f);
    }

    [Fact]
    public void Auto_picks_the_widest_accelerated_family_and_describes_it()
    {
        var gemm = new ManagedGemm();
        var expected = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? ManagedGemmKernel.Vector512
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? ManagedGemmKernel.Vector256
            : ManagedGemmKernel.Scalar;
        gemm.Kernel.Should().Be(expected);
        gemm.Threads.Should().Be(Environment.ProcessorCount);
        new ManagedGemm(ManagedGemmKernel.Vector256, threads: 1).Description.Should().Be("managed (Vector256, 1 thread)");
    }
}
