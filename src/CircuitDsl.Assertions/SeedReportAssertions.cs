using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using CircuitDsl.Reports;

namespace CircuitDsl.Assertions;

/// <summary>Assertions on a circuit checked on every training seed: <c>report.Should().HoldAll()</c>.</summary>
public sealed class SeedReportAssertions : ReferenceTypeAssertions<SeedReport, SeedReportAssertions>
{
    /// <summary>Assertions on <paramref name="report"/>.</summary>
    public SeedReportAssertions(SeedReport report)
        : base(report)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "seed report";

    /// <summary>
    /// Asserts that every hypothesis holds on as many seeds as it asks for. The failure message lists each one that does
    /// not, with its value on every seed.
    /// </summary>
    public AndConstraint<SeedReportAssertions> HoldAll(string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected every hypothesis to hold on its seeds{reason}, but the report is <null>.")
            .Then
            .ForCondition(Subject!.AllHold)
            .FailWith(Message.Escape($"Expected every hypothesis of circuit {Subject.Circuit} on {Subject.Model} to hold on the seeds it asks for") + "{reason}"
                + Message.Escape(", but these do not:\n" + string.Concat(Subject.Claims.Where(c => c.Verdict != Verdict.Holds).Select(ReportText.Describe))));
        return new AndConstraint<SeedReportAssertions>(this);
    }
}
