using CircuitDsl.Reports;

namespace CircuitDsl.Tests.Circuits;

public sealed class ReportTextTests
{
    [Theory]
    [InlineData(Verdict.Holds, "✓ holds")]
    [InlineData(Verdict.Fails, "✗ fails")]
    [InlineData(Verdict.NotMeasured, "– not measured")]
    public void Each_verdict_has_one_mark(Verdict verdict, string mark) =>
        ReportText.Mark(verdict).Should().Be(mark).And.Be(ReportText.Symbol(verdict) + " " + ReportText.Word(verdict));

    [Theory]
    [InlineData(Bound.AtLeast, 0.8, "≥ 0.800")]
    [InlineData(Bound.AtMost, 1.25, "≤ 1.250")]
    public void The_claimed_bound_reads_as_sign_and_rounded_threshold(Bound bound, double threshold, string text) =>
        ReportText.Claimed(Evidence.Judge("H", "", 1, threshold, bound, "score")).Should().Be(text);

    [Fact]
    public void A_failing_at_most_claim_says_how_far_over_with_a_line_per_datum_indented_as_asked()
    {
        var evidence = Evidence.Judge("NoQ", "No Q-composition.", 0.5, 0.2, Bound.AtMost, "Q-composition 0.0 -> 1.0", "raw.",
            [new CompositionData(new HeadId(0, 0), new HeadId(1, 0), 0.5, 0.25, 0.125, 0.35355)]);

        ReportText.Describe(evidence, indent: "  ").Should().Be(
            "  [Fails] NoQ: Q-composition 0.0 -> 1.0 = 0.500, claimed <= 0.200 (0.300 over)\n"
            + "    claim: No Q-composition.\n"
            + "    detail: raw.\n"
            + "    data composition scores 0.0 -> 1.0: Q 0.500, K 0.250, V 0.125; random baseline 0.354\n");
    }

    [Fact]
    public void Data_of_a_kind_it_does_not_know_is_refused_by_name()
    {
        var act = () => ReportText.Describe(new UnknownData());

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*UnknownData*");
    }

    private sealed record UnknownData : EvidenceData;
}
