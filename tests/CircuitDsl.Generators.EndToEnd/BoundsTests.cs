using CircuitDsl.Model;
using CircuitDsl.Reports;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>
/// <c>AtMost</c> claims and <c>[Measured]</c> claims as a real build generates them, checked on a model with zero
/// weights: every attention pattern is uniform and every logit 0, so each value is known without running anything.
/// </summary>
public sealed class BoundsTests
{
    [Fact]
    public void An_upper_bound_holds_under_its_threshold_and_fails_over_it_with_the_value_measured()
    {
        using var model = Tiny2L.FromWeights(TransformerWeights.Zeros(Tiny2L.Config));
        var report = TinyBounds.CheckAll(model);
        var previous = TinyInduction.CheckAll(model).Evidence.Single(e => e.Hypothesis == "PreviousToken");

        // The default detection batch is h + h with h = (n_ctx − 1) / 2 = 4 distinct tokens: 8 positions. Uniform attention
        // puts 1/(i+1) on each key of query i; every query after the first has a previous token, and the four queries of
        // the second half (i = 4…7) each have one earlier copy of their token.
        var notPrevious = report.Evidence.Single(e => e.Hypothesis == "NotPreviousToken");
        (notPrevious.Verdict, notPrevious.Threshold, notPrevious.Comparison).Should().Be((Verdict.Fails, 0.01, Bound.AtMost));
        notPrevious.Measured.Should().BeApproximately(Enumerable.Range(1, 7).Average(i => 1.0 / (i + 1)), 1e-6);
        previous.Measured.Should().Be(notPrevious.Measured, "the upper bound measures the same score as the lower bound on 0.1");
        var notDuplicate = report.Evidence.Single(e => e.Hypothesis == "NotDuplicateToken");
        (notDuplicate.Verdict, notDuplicate.Comparison).Should().Be((Verdict.Holds, Bound.AtMost));
        notDuplicate.Measured.Should().BeApproximately(Enumerable.Range(4, 4).Average(i => 1.0 / (i + 1)), 1e-6);
    }

    [Fact]
    public void Measured_claims_run_their_bodies_in_CheckAll_and_a_throwing_body_is_not_measured()
    {
        using var model = Tiny2L.FromWeights(TransformerWeights.Zeros(Tiny2L.Config));
        var report = TinyBounds.CheckAll(model);

        report.Evidence.Select(e => e.Hypothesis).Should().Equal(
            "NotPreviousToken", "NotDuplicateToken", "Vocabulary", "RepeatedTokenLoss", "Unfinished");
        var vocabulary = report.Evidence[2];
        (vocabulary.Verdict, vocabulary.Measured, vocabulary.Threshold, vocabulary.Comparison, vocabulary.Unit)
            .Should().Be((Verdict.Holds, 12.0, 10.0, Bound.AtLeast, "Vocabulary"));
        vocabulary.Claim.Should().Be("The vocabulary has at least ten tokens.");
        var loss = report.Evidence[3];
        (loss.Verdict, loss.Comparison, loss.Unit).Should().Be((Verdict.Fails, Bound.AtMost, "RepeatedTokenLoss (nats)"));
        loss.Measured.Should().BeApproximately(Math.Log(12), 1e-6, "zero logits are a uniform guess over 12 tokens");
        var unfinished = report.Evidence[4];
        unfinished.Verdict.Should().Be(Verdict.NotMeasured);
        unfinished.Detail.Should().Be("the measurement threw NotSupportedException: no batch for Tiny2L yet");
    }

    [Fact]
    public void Measured_claims_are_documented_with_their_kind_and_arguments()
    {
        var loss = TinyBounds.Documentation.Hypotheses.Single(h => h.Name == "RepeatedTokenLoss");

        loss.Kind.Should().Be("Measured");
        loss.Heads.Should().BeEmpty();
        loss.Arguments.Should().Equal(new KeyValuePair<string, string>("AtMost", "1"), new KeyValuePair<string, string>("Unit", "nats"));
        TinyBounds.Documentation.Hypotheses.Single(h => h.Name == "NotPreviousToken").Arguments
            .Should().Contain(new KeyValuePair<string, string>("AtMost", "0.01"));
    }
}
