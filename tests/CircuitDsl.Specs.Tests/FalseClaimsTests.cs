using CircuitDsl.Assertions;
using CircuitDsl.Reports;
using Xunit.Sdk;

namespace CircuitDsl.Specs.Tests;

/// <summary>The deliberately false spec is reported as failing, claim by claim, and the assertions say why.</summary>
public sealed class FalseClaimsTests(TrainedModel<Induction2L> trained) : IClassFixture<TrainedModel<Induction2L>>
{
    private Induction2L Model => trained.Model;

    [Fact]
    public void A_layer_0_head_is_not_an_induction_head() => FalseClaims.LayerZeroInductionHead(Model).Should().Fail();

    [Fact]
    public void The_induction_head_does_not_read_values_from_the_previous_token_head() =>
        FalseClaims.InductionHeadReadsValuesFromPreviousTokenHead(Model).Should().Fail();

    [Fact]
    public void The_previous_token_head_is_above_an_upper_bound_on_its_score()
    {
        var evidence = FalseClaims.PreviousTokenHeadIsNot(Model);

        evidence.Should().Fail();
        evidence.Measured.Should().Be(InductionCircuit.PreviousTokenHead(Model).Measured, "the upper bound measures the score the lower bound does");
    }

    [Fact]
    public void Term_importance_is_measured_against_false_bounds_on_either_side()
    {
        var half = FalseClaims.DirectPathRecoversHalf(Model);
        var needed = FalseClaims.VirtualHeadsAreNeeded(Model);

        half.Should().Fail();
        needed.Should().Fail();
        half.Measured.Should().Be(InductionCircuit.DirectPathRecoversNothing(Model).Measured, "both bound the order-0 recovery");
        needed.Measured.Should().Be(InductionCircuit.SingleHeadsRecoverTheLoss(Model).Measured, "both bound the order-1 recovery");
    }

    [Fact]
    public void The_virtual_head_through_the_previous_token_head_moves_little() =>
        FalseClaims.VirtualHeadThroughPreviousTokenHeadPredicts(Model).Should().Fail();

    [Fact]
    public void The_report_does_not_hold_and_names_every_claim()
    {
        var report = FalseClaims.CheckAll(Model);

        report.AllHold.Should().BeFalse();
        report.Failing.Should().Equal(nameof(FalseClaims.LayerZeroInductionHead), nameof(FalseClaims.InductionHeadReadsValuesFromPreviousTokenHead),
            nameof(FalseClaims.PreviousTokenHeadIsNot), nameof(FalseClaims.DirectPathRecoversHalf), nameof(FalseClaims.VirtualHeadsAreNeeded),
            nameof(FalseClaims.VirtualHeadThroughPreviousTokenHeadPredicts));
        report.Evidence.Should().OnlyContain(e => e.Verdict == Verdict.Fails, "each false claim is measured, not skipped");
    }

    [Fact]
    public void HoldAll_on_the_false_report_names_each_hypothesis_with_its_value_threshold_and_data()
    {
        var report = FalseClaims.CheckAll(Model);
        var induction = report.Evidence[0];
        var head = FalseClaims.Documentation.Hypotheses[0].Heads[0];

        var act = () => report.Should().HoldAll("the spec says so");

        act.Should().Throw<XunitException>()
            .WithMessage("Expected every hypothesis of circuit FalseClaims on Induction2L to hold because the spec says so, but 6 of 6 do not*")
            .WithMessage($"*[Fails] LayerZeroInductionHead: induction score of {head} = {Evidence.Format(induction.Measured)}, claimed >= 0.500 (* short)*")
            .WithMessage($"*data attention pattern of {head} on sequence 0 [62, 62]*")
            .WithMessage("*[Fails] InductionHeadReadsValuesFromPreviousTokenHead: V-composition * (x random baseline) = *, claimed >= 3.000*")
            .WithMessage("*data composition scores * -> *: Q *, K *, V *; random baseline *")
            .WithMessage($"*[Fails] PreviousTokenHeadIsNot: previous-token score of 0.2 = {Evidence.Format(report.Evidence[2].Measured)}, claimed <= 0.500*");
    }

    [Fact]
    public void Hold_on_a_false_claim_fails_and_Fail_on_a_true_one_fails()
    {
        var falseClaim = FalseClaims.LayerZeroInductionHead(Model);
        var trueClaim = Evidence.Judge("TrueClaim", "A claim that holds.", 0.9, 0.5, Bound.AtLeast, "some score");

        ((Action)(() => falseClaim.Should().Hold())).Should().Throw<XunitException>()
            .WithMessage("Expected hypothesis LayerZeroInductionHead to hold, but it fails:*claimed >= 0.500 (* short)*");
        ((Action)(() => trueClaim.Should().Fail())).Should().Throw<XunitException>()
            .WithMessage("Expected hypothesis TrueClaim to be measured and fail, but it holds:*some score = 0.900, claimed >= 0.500*");
    }
}

/// <summary>The zero-layer model's false path claims fail, measured.</summary>
public sealed class FalseZeroLayerClaimsTests(TrainedModel<Bigram0L> trained) : IClassFixture<TrainedModel<Bigram0L>>
{
    [Fact]
    public void Every_claim_is_measured_and_fails() =>
        FalseZeroLayerClaims.CheckAll(trained.Model).Evidence.Should().HaveCount(2).And.OnlyContain(e => e.Verdict == Verdict.Fails);

    [Fact]
    public void The_constant_carries_what_the_direct_path_leaves() =>
        (FalseZeroLayerClaims.ConstantCarriesHalf(trained.Model).Measured + BigramTable.DirectPathCarriesTheLogits(trained.Model).Measured)
            .Should().BeApproximately(1, 1e-9, "a zero-layer model's terms are the direct path and b_U, and shares sum to 1");
}

/// <summary>The one-layer model's false path claims fail, measured.</summary>
public sealed class FalseOneLayerClaimsTests(TrainedModel<SkipTrigram1L> trained) : IClassFixture<TrainedModel<SkipTrigram1L>>
{
    [Fact]
    public void Every_claim_is_measured_and_fails() =>
        FalseOneLayerClaims.CheckAll(trained.Model).Evidence.Should().HaveCount(2).And.OnlyContain(e => e.Verdict == Verdict.Fails);
}
