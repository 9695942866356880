using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>Backend selection and argument checking of the <see cref="Gemm"/> seam; nothing here changes global state.</summary>
public sealed class GemmSeamTests
{
    [Fact]
    public void Setting_managed_selects_the_managed_kernel()
    {
        Gemm.SelectBackend("managed").Should().BeOfType<ManagedGemm>();
        Gemm.SelectBackend("  Managed ").Should().BeOfType<ManagedGemm>();
    }

    [Fact]
    public void Unset_selects_openblas_exactly_when_it_loads_with_kernels_as_wide_as_the_processor()
    {
        var expected = OpenBlasGemm.IsAvailable && !OpenBlasGemm.NarrowerThanProcessor ? typeof(OpenBlasGemm) : typeof(ManagedGemm);
        Gemm.SelectBackend(null).Should().BeOfType(expected);
        Gemm.SelectBackend("").Should().BeOfType(expected);
    }

    [Theory]
    [InlineData("Haswell", true, true)] // OPENBLAS_CORETYPE=Haswell on an AVX-512 processor
    [InlineData("Zen", true, true)]
    [InlineData("Cooperlake", true, false)]
    [InlineData("SkylakeX", true, false)]
    [InlineData("sapphirerapids", true, false)]
    [InlineData("Haswell", false, false)] // an AVX2 processor: its own kernels
    [InlineData(null, true, false)] // an OpenBLAS that does not name its kernels
    public void OpenBLAS_is_narrower_only_with_kernels_below_a_512_bit_processor(string? core, bool vector512, bool narrower) =>
        OpenBlasGemm.NarrowerThan(core, vector512).Should().Be(narrower);

    [Fact]
    public void Setting_openblas_selects_it_or_fails_naming_the_variable()
    {
        if (OpenBlasGemm.IsAvailable)
        {
            Gemm.SelectBackend("openblas").Should().BeOfType<OpenBlasGemm>();
        }
        else
        {
            var act = () => Gemm.SelectBackend("openblas");
            act.Should().Throw<InvalidOperationException>().WithMessage("CIRCUITDSL_GEMM=openblas, but OpenBLAS could not be loaded*");
        }
    }

    [Fact]
    public void Unknown_setting_is_an_error_that_lists_the_choices()
    {
        var act = () => Gemm.SelectBackend("cuda");
        act.Should().Throw<InvalidOperationException>().WithMessage("CIRCUITDSL_GEMM='cuda' is not a GEMM backend*'managed' or 'openblas'*");
    }

    [Fact]
    public void Default_backend_follows_the_environment_variable()
    {
        var setting = Environment.GetEnvironmentVariable(Gemm.BackendVariable);
        Gemm.CreateDefaultBackend().Should().BeOfType(Gemm.SelectBackend(setting).GetType());
    }

    [Fact]
    public void Describe_names_the_backend_in_use() =>
        Gemm.Describe().Should().StartWith(Gemm.Backend.Name + " (").And.EndWith(")");

    [Theory]
    [InlineData(-1, 2, 2, 4, 2, 2, "*must not be negative*")]
    [InlineData(2, 2, 2, 1, 2, 2, "*lda = 1 is smaller than the 2 columns of the stored 2×2 matrix A*")]
    [InlineData(2, 3, 2, 2, 2, 3, "*ldb = 2 is smaller than the 3 columns*B*")]
    [InlineData(2, 3, 2, 2, 3, 2, "*ldc = 2 is smaller than the 3 columns*C*")]
    public void Bad_sizes_and_leading_dimensions_are_refused(int m, int n, int k, int lda, int ldb, int ldc, string message)
    {
        var act = () => Gemm.Sgemm(false, false, m, n, k, 1f, new float[64], lda, new float[64], ldb, 0f, new float[64], ldc);
        act.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void Short_C_is_refused_by_the_managed_kernel()
    {
        var act = () => new ManagedGemm().Sgemm(false, true, 3, 4, 2, 1f, new float[6], 2, new float[8], 2, 0f, new float[11], 4);
        act.Should().Throw<ArgumentException>().WithMessage("SGEMM: C has 11 elements, but a stored 3×4 matrix with ldc = 4 needs 12.");
    }

    [Fact]
    public void MatMul_multiplies_small_matrices_exactly()
    {
        var a = Tensor.FromRows([[1, 2, 3], [4, 5, 6]]);
        var b = Tensor.FromRows([[7, 8], [9, 10], [11, 12]]);
        Gemm.MatMul(a, b).Span.ToArray().Should().Equal(58, 64, 139, 154);
        Gemm.MatMul(b, a, transA: true, transB: true).Span.ToArray().Should().Equal(58, 139, 64, 154);
    }

    [Fact]
    public void MatMul_with_mismatched_shapes_names_them()
    {
        var act = () => Gemm.MatMul(new Tensor(2, 3), new Tensor(2, 3));
        act.Should().Throw<ArgumentException>().WithMessage("Cannot multiply [2, 3] by [2, 3] into [2, 3].");
    }

    [Fact]
    public void Transpose_moves_every_element()
    {
        var t = new Tensor(37, 70);
        for (var i = 0; i < t.Length; i++)
        {
            t.Span[i] = i;
        }

        var tt = t.Transpose();
        tt.Shape.ToArray().Should().Equal(70, 37);
        for (var i = 0; i < 37; i++)
        {
            for (var j = 0; j < 70; j++)
            {
                tt[j, i].Should().Be((i * 70) + j);
            }
        }
    }
}

/// <summary>Tests that replace <see cref="Gemm.Backend"/>; they run alone and restore it.</summary>
[CollectionDefinition(nameof(GemmBackendSwap), DisableParallelization = true)]
public sealed class GemmBackendSwap;

[Collection(nameof(GemmBackendSwap))]
public sealed class GemmBackendSwapTests
{
    [Fact]
    public void MatMul_goes_through_the_backend_that_is_set()
    {
        var previous = Gemm.Backend;
        var recorder = new RecordingBackend();
        try
        {
            Gemm.Backend = recorder;
            Gemm.MatMul(new Tensor(2, 3), new Tensor(4, 3), transB: true);
            Gemm.Describe().Should().Be("recording");
        }
        finally
        {
            Gemm.Backend = previous;
        }

        recorder.Calls.Should().Equal("F T 2 4 3 lda=3 ldb=3 ldc=4");
        Gemm.Backend.Should().BeSameAs(previous);
    }

    private sealed class RecordingBackend : IGemmBackend
    {
        public List<string> Calls { get; } = [];

        public string Name => "recording";

        public void Sgemm(
            bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
            float beta, Span<float> c, int ldc) =>
            Calls.Add($"{(transA ? 'T' : 'F')} {(transB ? 'T' : 'F')} {m} {n} {k} lda={lda} ldb={ldb} ldc={ldc}");
    }
}
