using System.Text;
using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using CircuitDsl.Reports;

namespace CircuitDsl.Assertions;

/// <summary>Assertions on a circuit report: <c>report.Should().HoldAll()</c>.</summary>
public sealed class CircuitReportAssertions : ReferenceTypeAssertions<CircuitReport, CircuitReportAssertions>
{
    /// <summary>Assertions on <paramref name="report"/>.</summary>
    public CircuitReportAssertions(CircuitReport report)
        : base(report)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "report";

    /// <summary>
    /// Asserts that every hypothesis of the report holds. The failure message lists each one that does not (failing
    /// or not measured) with its measured value, threshold, comparison, claim, detail and data.
    /// </summary>
    public AndConstraint<CircuitReportAssertions> HoldAll(string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected every hypothesis to hold{reason}, but the report is <null>.")
            .Then
            .ForCondition(Subject!.AllHold)
            .FailWith(Message.Escape($"Expected every hypothesis of circuit {Subject.Circuit} on {Subject.Model} to hold") + "{reason}"
                + Message.Escape(Failures(Subject)));
        return new AndConstraint<CircuitReportAssertions>(this);
    }

    /// <summary>Asserts that the hypothesis named <paramref name="hypothesis"/> is in the report and holds.</summary>
    public AndConstraint<CircuitReportAssertions> Hold(string hypothesis, string because = "", params object[] becauseArgs) =>
        One(hypothesis, e => e.Should().Hold(because, becauseArgs));

    /// <summary>Asserts that the hypothesis named <paramref name="hypothesis"/> is in the report, was measured and fails.</summary>
    public AndConstraint<CircuitReportAssertions> Fail(string hypothesis, string because = "", params object[] becauseArgs) =>
        One(hypothesis, e => e.Should().Fail(because, becauseArgs));

    private AndConstraint<CircuitReportAssertions> One(string hypothesis, Action<Evidence> assert)
    {
        var evidence = Subject?.Evidence.FirstOrDefault(e => e.Hypothesis == hypothesis);
        Execute.Assertion
            .ForCondition(evidence is not null)
            .FailWith(Message.Escape($"Expected the report to have a hypothesis named {hypothesis}, but it has: "
                + string.Join(", ", Subject?.Evidence.Select(e => e.Hypothesis) ?? []) + "."));
        if (evidence is not null)
        {
            assert(evidence);
        }

        return new AndConstraint<CircuitReportAssertions>(this);
    }

    private static string Failures(CircuitReport report)
    {
        var failing = report.Evidence.Where(e => e.Verdict != Verdict.Holds).ToList();
        var sb = new StringBuilder();
        sb.Append(", but ").Append(failing.Count).Append(" of ").Append(report.Evidence.Count)
            .Append(failing.Count == 1 ? " does not" : " do not").Append(" (weights: ").Append(report.WeightProcessing).Append("):\n");
        foreach (var e in failing)
        {
            sb.Append(ReportText.Describe(e, indent: "  "));
        }

        return sb.ToString();
    }
}
