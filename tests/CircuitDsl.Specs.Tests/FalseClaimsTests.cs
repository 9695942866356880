using CircuitDsl.Assertions;
using CircuitDsl.Reports;
using Xunit.Sdk;

namespace CircuitDsl.Specs.Tests;

/// <summary>The deliberately false spec is reported as failing, claim by claim and seed by seed, and the assertions say why.</summary>
public sealed class FalseClaimsTests(TrainedSeeds<Induction2L> trained) : IClassFixture<TrainedSeeds<Induction2L>>
{
    private Induction2L Model => trained.Models[0];

    [Fact]
    public void Every_false_claim_is_measured_and_fails_on_every_seed()
    {
        var report = trained.Check(FalseClaims.Documentation, FalseClaims.CheckAll);

        report.AllHold.Should().BeFalse();
        report.Failing.Should().Equal(FalseClaims.Documentation.Hypotheses.Select(h => h.Name));
        report.Claims.Should().OnlyContain(c => c.Verdict == Verdict.Fails && c.Holding == 0);
        report.Claims.SelectMany(c => c.PerSeed).Should().OnlyContain(p => p.Evidence.Verdict == Verdict.Fails, "each false claim is measured, not skipped, on every seed");
    }

    [Fact]
    public void The_previous_token_head_is_above_an_upper_bound_on_its_score()
    {
        var evidence = FalseClaims.PreviousTokenHeadIsNot(Model);

        evidence.Should().Fail();
        evidence.Measured.Should().Be(InductionCircuit.PreviousTokenHead(Model).Measured, "the upper bound measures the score the lower bound does");
    }

    [Fact]
    public void HoldAll_on_the_false_report_names_each_hypothesis_with_its_value_threshold_and_data()
    {
        var report = FalseClaims.CheckAll(Model);
        var induction = report.Evidence[0];

        var act = () => report.Should().HoldAll("the spec says so");

        act.Should().Throw<XunitException>()
            .WithMessage($"Expected every hypothesis of circuit FalseClaims on Induction2L to hold because the spec says so, but {report.Evidence.Count} of {report.Evidence.Count} do not*")
            .WithMessage($"*[Fails] LayerZeroInductionHead: induction score of {induction.Unit[(induction.Unit.LastIndexOf(" of ", StringComparison.Ordinal) + 4)..]} = {Evidence.Format(induction.Measured)}, claimed >= *(* short)*")
            .WithMessage("*data attention pattern of 0.* on sequence 0 [62, 62]*")
            .WithMessage("*[Fails] InductionHeadReadsValuesFromPreviousTokenHead: V-composition * (x random baseline) = *, claimed >= *")
            .WithMessage("*data composition scores * -> *: Q *, K *, V *; random baseline *");
    }

    [Fact]
    public void HoldAll_on_the_seed_report_names_each_claim_with_its_value_on_every_seed()
    {
        var report = trained.Check(FalseClaims.Documentation, FalseClaims.CheckAll);

        var act = () => report.Should().HoldAll();

        act.Should().Throw<XunitException>()
            .WithMessage("Expected every hypothesis of circuit FalseClaims on Induction2L to hold on the seeds it asks for, but these do not:*")
            .WithMessage($"*[Fails] LayerZeroInductionHead on 0 of {trained.Seeds.Count} seeds (needs {trained.Seeds.Count})*min *, median *, max *")
            .WithMessage($"*seed {trained.Seeds[^1]}: * fails*");
    }

    [Fact]
    public void Hold_on_a_false_claim_fails_and_Fail_on_a_true_one_fails()
    {
        var falseClaim = FalseClaims.LayerZeroInductionHead(Model);
        var trueClaim = Evidence.Judge("TrueClaim", "A claim that holds.", 0.9, 0.5, Bound.AtLeast, "some score");

        ((Action)(() => falseClaim.Should().Hold())).Should().Throw<XunitException>()
            .WithMessage("Expected hypothesis LayerZeroInductionHead to hold, but it fails:*(* short)*");
        ((Action)(() => trueClaim.Should().Fail())).Should().Throw<XunitException>()
            .WithMessage("Expected hypothesis TrueClaim to be measured and fail, but it holds:*some score = 0.900, claimed >= 0.500*");
    }
}

/// <summary>The zero-layer model's false path claims fail, measured, on every seed.</summary>
public sealed class FalseZeroLayerClaimsTests(TrainedSeeds<Bigram0L> trained) : IClassFixture<TrainedSeeds<Bigram0L>>
{
    [Fact]
    public void Every_claim_is_measured_and_fails_on_every_seed() =>
        trained.Check(FalseZeroLayerClaims.Documentation, FalseZeroLayerClaims.CheckAll).Claims.SelectMany(c => c.PerSeed)
            .Should().HaveCount(2 * trained.Seeds.Count).And.OnlyContain(p => p.Evidence.Verdict == Verdict.Fails);

    [Fact]
    public void The_constant_carries_what_the_direct_path_leaves()
    {
        foreach (var model in trained.Models)
        {
            (FalseZeroLayerClaims.ConstantCarriesHalf(model).Measured + BigramTable.DirectPathCarriesTheLogits(model).Measured)
                .Should().BeApproximately(1, 1e-9, "a zero-layer model's terms are the direct path and b_U, and shares sum to 1");
        }
    }
}

/// <summary>The one-layer model's false path claims fail, measured, on every seed.</summary>
public sealed class FalseOneLayerClaimsTests(TrainedSeeds<SkipTrigram1L> trained) : IClassFixture<TrainedSeeds<SkipTrigram1L>>
{
    [Fact]
    public void Every_claim_is_measured_and_fails_on_every_seed() =>
        trained.Check(FalseOneLayerClaims.Documentation, FalseOneLayerClaims.CheckAll).Claims.SelectMany(c => c.PerSeed)
            .Should().HaveCount(2 * trained.Seeds.Count).And.OnlyContain(p => p.Evidence.Verdict == Verdict.Fails);
}
