using CircuitDsl.Reports;

namespace CircuitDsl.Assertions;

/// <summary>
/// The entry points: <c>report.Should().HoldAll()</c>, <c>evidence.Should().Hold()</c> and
/// <c>evidence.Should().Fail()</c>. A failure names each hypothesis with its measured value, threshold, comparison
/// and the data behind it.
/// </summary>
public static class AssertionExtensions
{
    /// <summary>Assertions on a circuit report.</summary>
    public static CircuitReportAssertions Should(this CircuitReport report) => new(report);

    /// <summary>Assertions on a circuit checked on every training seed.</summary>
    public static SeedReportAssertions Should(this SeedReport report) => new(report);

    /// <summary>Assertions on the evidence for one hypothesis.</summary>
    public static EvidenceAssertions Should(this Evidence evidence) => new(evidence);
}
