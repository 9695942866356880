using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>
/// Skips an OpenBLAS test only where the library cannot be loaded, and never when the environment variable
/// <c>CIRCUITDSL_REQUIRE_OPENBLAS=1</c> says it must be there (CI sets it): then the test runs and fails.
/// </summary>
internal static class OpenBlasRequirement
{
    public const string RequireVariable = "CIRCUITDSL_REQUIRE_OPENBLAS";

    public static string? SkipReason =>
        OpenBlasGemm.IsAvailable || Environment.GetEnvironmentVariable(RequireVariable) == "1"
            ? null
            : $"OpenBLAS cannot be loaded on this machine ({OpenBlasGemm.LoadFailure}); set {RequireVariable}=1 to make that a failure.";
}

/// <summary>A fact that needs OpenBLAS; see <see cref="OpenBlasRequirement"/>.</summary>
public sealed class OpenBlasFactAttribute : FactAttribute
{
    public OpenBlasFactAttribute() => Skip = OpenBlasRequirement.SkipReason;
}

/// <summary>A theory that needs OpenBLAS; see <see cref="OpenBlasRequirement"/>.</summary>
public sealed class OpenBlasTheoryAttribute : TheoryAttribute
{
    public OpenBlasTheoryAttribute() => Skip = OpenBlasRequirement.SkipReason;
}

/// <summary>The OpenBLAS backend against a naive double-precision product, on the managed kernel's cases.</summary>
public sealed class OpenBlasGemmTests
{
    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var (m, n, k) in GemmChecks.Shapes())
        {
            data.Add(m, n, k);
        }

        return data;
    }

    public static TheoryData<int, int, int, bool, bool> Transposes()
    {
        var data = new TheoryData<int, int, int, bool, bool>();
        foreach (var g in GemmChecks.TransposeCases())
        {
            data.Add(g.M, g.N, g.K, g.TransA, g.TransB);
        }

        return data;
    }

    [OpenBlasTheory]
    [MemberData(nameof(Shapes))]
    public void Product_matches_double_reference(int m, int n, int k) =>
        GemmChecks.AssertMatchesReference(new OpenBlasGemm(), new GemmCase(m, n, k));

    [OpenBlasTheory]
    [MemberData(nameof(Transposes))]
    public void Transposes_alpha_beta_and_wide_leading_dimensions_match_reference(int m, int n, int k, bool transA, bool transB) =>
        GemmChecks.AssertMatchesReference(
            new OpenBlasGemm(),
            new GemmCase(m, n, k, transA, transB, Alpha: -0.75f, Beta: 1.5f, PadA: 3, PadB: 5, PadC: 7));

    [OpenBlasFact]
    public void Beta_zero_never_reads_C()
    {
        foreach (var (m, n, k) in new[] { (3, 5, 7), (40, 70, 300), (13, 9, 2) })
        {
            GemmChecks.AssertMatchesReference(new OpenBlasGemm(), new GemmCase(m, n, k, Alpha: 2f, PadC: 2, NaNInC: true));
        }
    }

    [OpenBlasFact]
    public void Large_product_matches_reference() =>
        GemmChecks.AssertMatchesReference(new OpenBlasGemm(), new GemmCase(300, 500, 700, Beta: 0.5f, PadA: 1));

    public static TheoryData<int, int, int, bool, bool, int> Splits()
    {
        // Split by columns (n ≥ m) and by rows, into two and into three parts, the last shorter; every transpose pair.
        var data = new TheoryData<int, int, int, bool, bool, int>();
        foreach (var (m, n, k) in new[] { (90, 700, 300), (700, 90, 300), (37, 1000, 200) })
        {
            foreach (var (transA, transB) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                foreach (var threads in new[] { 2, 3 })
                {
                    data.Add(m, n, k, transA, transB, threads);
                }
            }
        }

        return data;
    }

    [OpenBlasTheory]
    [MemberData(nameof(Splits))]
    public void A_product_split_over_threads_matches_reference(int m, int n, int k, bool transA, bool transB, int threads) =>
        GemmChecks.AssertMatchesReference(
            new OpenBlasGemm(threads), new GemmCase(m, n, k, transA, transB, Alpha: -0.75f, Beta: 1.5f, PadA: 3, PadB: 5, PadC: 7));

    [OpenBlasFact]
    public void Zero_depth_scales_C_by_beta()
    {
        GemmChecks.AssertMatchesReference(new OpenBlasGemm(), new GemmCase(4, 6, 0, Beta: -2f));
        GemmChecks.AssertMatchesReference(new OpenBlasGemm(), new GemmCase(4, 6, 0, NaNInC: true));
    }

    [OpenBlasFact]
    public void Spans_too_short_for_the_sizes_are_refused_before_the_native_call()
    {
        var gemm = new OpenBlasGemm();
        var act = () => gemm.Sgemm(false, false, 4, 4, 4, 1f, new float[15], 4, new float[16], 4, 0f, new float[16], 4);
        act.Should().Throw<ArgumentException>().WithMessage("*A has 15 elements*needs 16*");
    }

    [OpenBlasFact]
    public void Describes_library_and_threads()
    {
        var description = new OpenBlasGemm().Description;
        description.Should().StartWith("openblas (").And.Contain(Path.GetFileName(OpenBlasGemm.LibraryName!)).And.Contain("thread");
    }
}
