using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;
using CircuitDsl.Reports;

namespace CircuitDsl.Assertions;

/// <summary>Assertions on the evidence for one hypothesis: <c>evidence.Should().Hold()</c> or <c>.Fail()</c>.</summary>
public sealed class EvidenceAssertions : ReferenceTypeAssertions<Evidence, EvidenceAssertions>
{
    /// <summary>Assertions on <paramref name="evidence"/>.</summary>
    public EvidenceAssertions(Evidence evidence)
        : base(evidence)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "evidence";

    /// <summary>
    /// Asserts that the hypothesis holds: its measured value is on the claimed side of its threshold. The failure
    /// message names the hypothesis, its value, threshold and comparison, and the data behind it.
    /// </summary>
    public AndConstraint<EvidenceAssertions> Hold(string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected a hypothesis to hold{reason}, but the evidence is <null>.")
            .Then
            .ForCondition(Subject!.Verdict == Verdict.Holds)
            .FailWith(Message.Escape($"Expected hypothesis {Subject.Hypothesis} to hold") + "{reason}"
                + Message.Escape($", but it {Said(Subject.Verdict)}:\n{ReportText.Describe(Subject)}"));
        return new AndConstraint<EvidenceAssertions>(this);
    }

    /// <summary>
    /// Asserts that the hypothesis was measured and does not hold (for a deliberately false claim). The failure
    /// message names the hypothesis, its value, threshold and comparison.
    /// </summary>
    public AndConstraint<EvidenceAssertions> Fail(string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null)
            .FailWith("Expected a hypothesis to fail{reason}, but the evidence is <null>.")
            .Then
            .ForCondition(Subject!.Verdict == Verdict.Fails)
            .FailWith(Message.Escape($"Expected hypothesis {Subject.Hypothesis} to be measured and fail") + "{reason}"
                + Message.Escape($", but it {Said(Subject.Verdict)}:\n{ReportText.Describe(Subject)}"));
        return new AndConstraint<EvidenceAssertions>(this);
    }

    internal static string Said(Verdict verdict) => verdict switch
    {
        Verdict.Holds => "holds",
        Verdict.Fails => "fails",
        _ => "was not measured",
    };
}
